# src/ctl: tokilakectl(8), the administration tool of a network of nodes
# (see src/ctl/ctl.h for the file map), and its manual page.
sbin_PROGRAMS += tokilakectl
tokilakectl_SOURCES = src/ctl/ctl.h \
	src/ctl/main.c \
	src/ctl/ctl_util.c \
	src/ctl/ctl_url.c \
	src/ctl/ctl_db.c \
	src/ctl/ctl_table.c \
	src/ctl/ctl_yaml.c \
	src/ctl/ctl_namespace.c \
	src/ctl/ctl_token.c \
	src/ctl/ctl_key.c \
	src/ctl/ctl_network.c \
	src/ctl/ctl_migrate.c \
	src/ctl/ctl_usage.c \
	src/worker/json_out.c src/worker/json_out.h
tokilakectl_LDADD = $(COMMON_LIBS) $(PQ_LIBS)
# db migrate from the build tree finds the source tree's sql/ (ctl_migrate.c)
tokilakectl_CPPFLAGS = $(AM_CPPFLAGS) -DTL_BUILDDIR='"$(abs_top_builddir)"' \
	-DTL_SRCDIR='"$(abs_top_srcdir)"'

# The page, like those of man/local.mk (tl_edit fills in the paths).
man_MANS += man/tokilakectl.8
EXTRA_DIST += man/tokilakectl.8.in
CLEANFILES += man/tokilakectl.8
man/tokilakectl.8: $(srcdir)/man/tokilakectl.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(tl_edit) -e 's|@pkgdatadir[@]|$(pkgdatadir)|g' $(srcdir)/man/tokilakectl.8.in >$@.tmp && mv -f $@.tmp $@
