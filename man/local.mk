# Manual pages. The sources are *.in with @dir@ placeholders; make fills
# in this build's directories, so that the pages name the files that
# `make install` really writes (also under another prefix, or distcheck).
# The generated pages are not distributed: they depend on the prefix.

# Shared with etc/local.mk (systemd units). [@] keeps config.status from
# substituting the placeholders in this rule itself.
tl_edit = sed \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@bindir[@]|$(bindir)|g' \
	-e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g'

tl_man_pages = man/tokilake.8 man/tokiame.8 man/tokilake.yaml.5 man/tokiame.yaml.5
man_MANS += $(tl_man_pages)
EXTRA_DIST += man/tokilake.8.in man/tokiame.8.in \
	man/tokilake.yaml.5.in man/tokiame.yaml.5.in
CLEANFILES += $(tl_man_pages)

man/tokilake.8: $(srcdir)/man/tokilake.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(tl_edit) $(srcdir)/man/tokilake.8.in >$@.tmp && mv -f $@.tmp $@
man/tokiame.8: $(srcdir)/man/tokiame.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(tl_edit) $(srcdir)/man/tokiame.8.in >$@.tmp && mv -f $@.tmp $@
man/tokilake.yaml.5: $(srcdir)/man/tokilake.yaml.5.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(tl_edit) $(srcdir)/man/tokilake.yaml.5.in >$@.tmp && mv -f $@.tmp $@
man/tokiame.yaml.5: $(srcdir)/man/tokiame.yaml.5.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(tl_edit) $(srcdir)/man/tokiame.yaml.5.in >$@.tmp && mv -f $@.tmp $@

# Lint every page and compare OPTIONS with the programs' usage.
TESTS += tests/unit/man-lint.sh
EXTRA_DIST += tests/unit/man-lint.sh
