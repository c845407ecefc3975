# Sample configs and systemd units.
#
# The units name this build's paths (tl_edit, from man/local.mk). They go
# to $(prefix)/lib/systemd/system unless the make command line says
# otherwise, e.g. `make install systemdsystemunitdir=/lib/systemd/system`.
systemdsystemunitdir = $(prefix)/lib/systemd/system
tl_units = etc/tokilake.service etc/tokiame.service
systemdsystemunit_DATA = $(tl_units)
EXTRA_DIST += etc/tokilake.service.in etc/tokiame.service.in
CLEANFILES += $(tl_units)

etc/tokilake.service: $(srcdir)/etc/tokilake.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && $(tl_edit) $(srcdir)/etc/tokilake.service.in >$@.tmp && mv -f $@.tmp $@
etc/tokiame.service: $(srcdir)/etc/tokiame.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && $(tl_edit) $(srcdir)/etc/tokiame.service.in >$@.tmp && mv -f $@.tmp $@

# The samples always go to $(pkgdatadir)/examples, to compare with after
# an upgrade; the live config is only written when there is none, so an
# operator's file is never replaced. It may later hold secrets (tokiame's
# token), hence the modes. Uninstall removes a live config only while it
# is still the untouched sample.
tlexamplesdir = $(pkgdatadir)/examples
dist_tlexamples_DATA = etc/tokilake.yaml etc/tokiame.yaml

install-data-local: install-sample-configs
uninstall-local: uninstall-sample-configs
.PHONY: install-sample-configs uninstall-sample-configs

install-sample-configs:
	@$(NORMAL_INSTALL)
	@set -e; for spec in tokilake:640 tokiame:600; do \
	  name=$${spec%%:*}; mode=$${spec#*:}; \
	  dir='$(DESTDIR)$(sysconfdir)'/$$name; dst=$$dir/$$name.yaml; \
	  if test -f "$$dst"; then \
	    echo "keeping $$dst (sample in $(tlexamplesdir))"; \
	  else \
	    echo " $(MKDIR_P) '$$dir'"; $(MKDIR_P) "$$dir"; \
	    echo " $(INSTALL) -m $$mode '$(srcdir)/etc/$$name.yaml' '$$dst'"; \
	    $(INSTALL) -m $$mode '$(srcdir)/etc/'$$name.yaml "$$dst"; \
	  fi; \
	done

uninstall-sample-configs:
	@$(NORMAL_UNINSTALL)
	@for name in tokilake tokiame; do \
	  dir='$(DESTDIR)$(sysconfdir)'/$$name; dst=$$dir/$$name.yaml; \
	  if test -f "$$dst" && cmp -s "$$dst" '$(srcdir)/etc/'$$name.yaml; then \
	    echo " rm -f '$$dst'"; rm -f "$$dst"; \
	    rmdir "$$dir" 2>/dev/null || :; \
	  elif test -f "$$dst"; then \
	    echo "keeping $$dst: it differs from the sample"; \
	  fi; \
	done
