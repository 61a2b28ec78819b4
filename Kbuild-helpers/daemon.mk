# tided and the library of its modules (tidectl is built by tidectl.mk).
# Every daemon/*.c except the main goes into $(BUILD)/libtide.a, so a new
# module needs no Makefile edit.

DAEMON_MAINS := daemon/tided.c
DAEMON_SRCS := $(filter-out $(DAEMON_MAINS),$(wildcard daemon/*.c))
DAEMON_OBJS := $(patsubst daemon/%.c,$(BUILD)/obj/%.o,$(DAEMON_SRCS))
LIBTIDE := $(BUILD)/libtide.a

# objects may include any skeleton, so skeletons come first
$(BUILD)/obj/%.o: daemon/%.c $(wildcard include/*.h daemon/*.h) | $(BUILD)/obj $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon -c $< -o $@

# a module's object embeds its skeleton (the BPF bytecode): rebuild with it
$(foreach b,$(patsubst bpf/%.bpf.c,%,$(BPF_SRCS)),\
	$(eval $(BUILD)/obj/$(b).o: $(BUILD)/bpf/$(b).skel.h))

# objects that embed TIDE_VERSION (see common.mk)
$(BUILD)/obj/ctl.o $(BUILD)/obj/status.o $(BUILD)/obj/textfile.o: $(VERSION_STAMP)

$(LIBTIDE): $(DAEMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tided: daemon/tided.c $(LIBTIDE) $(VERSION_STAMP) \
		$(wildcard include/*.h daemon/*.h) | $(BPF_SKELS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon $(LDFLAGS) $< $(LIBTIDE) $(LDLIBS) -o $@

ALL_TARGETS += $(BPF_SKELS) $(BUILD)/tided

# ---- install -------------------------------------------------------------
#   make install [PREFIX=/usr/local] [DESTDIR=...]
# Binaries and man pages go under PREFIX; the configuration and the libvirt
# hook under SYSCONFDIR (/etc), because that is where tided and libvirtd
# look for them whatever the prefix.  An existing configuration is never
# overwritten.  The hook is a link LIBVIRT_HOOKDIR/qemu.d/50-tide to
# LIBEXECDIR/tide/tide-qemu-hook (libvirt >= 6.5 runs every executable of
# qemu.d after the qemu hook itself), so LIBVIRT_HOOKDIR/qemu stays the
# operator's: it is never touched, unless it is the script an older tide
# installed there (it carries HOOK_MARK), which is removed.

SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
LIBVIRT_HOOKDIR ?= $(SYSCONFDIR)/libvirt/hooks
# a line of the qemu hook script older tides installed
HOOK_MARK := tide: libvirt qemu hook
HOOK_INSTALLED := $(LIBEXECDIR)/tide/tide-qemu-hook
HOOK_LINK := $(LIBVIRT_HOOKDIR)/qemu.d/50-tide

.PHONY: install uninstall
install: $(BUILD)/tided $(BUILD)/tidectl $(BUILD)/tide-qemu-hook
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSTEMD_UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/tide $(DESTDIR)$(LIBEXECDIR)/tide \
		$(DESTDIR)$(LIBVIRT_HOOKDIR)/qemu.d
	$(Q)install -m 0755 $(BUILD)/tided $(DESTDIR)$(SBINDIR)/tided
	$(Q)install -m 0755 $(BUILD)/tidectl $(DESTDIR)$(BINDIR)/tidectl
	$(Q)install -m 0755 $(BUILD)/tide-qemu-hook $(DESTDIR)$(HOOK_INSTALLED)
	$(Q)install -m 0644 man/tided.8 man/tidectl.8 man/tide-qemu-hook.8 $(DESTDIR)$(MANDIR)/man8/
	$(Q)install -m 0644 man/tided.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(Q)sed 's|/usr/local/sbin/tided|$(SBINDIR)/tided|g' packaging/tided.service \
		> $(DESTDIR)$(SYSTEMD_UNITDIR)/tided.service
	$(Q)chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/tided.service
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/tide/tided.conf ]; then \
		echo "  keeping existing $(DESTDIR)$(SYSCONFDIR)/tide/tided.conf"; \
	else \
		install -m 0644 packaging/tided.conf $(DESTDIR)$(SYSCONFDIR)/tide/tided.conf; \
	fi
	$(Q)old=$(DESTDIR)$(LIBVIRT_HOOKDIR)/qemu; \
	if [ -f "$$old" ] && grep -qF '$(HOOK_MARK)' "$$old"; then \
		rm -f "$$old"; \
		echo "  removed $$old, the qemu hook of an older tide (qemu.d/50-tide replaces it)"; \
	fi
	$(Q)ln -sfn $(HOOK_INSTALLED) $(DESTDIR)$(HOOK_LINK)
	@echo "  libvirt hook $(DESTDIR)$(HOOK_LINK) -> $(HOOK_INSTALLED)"
	@echo "  libvirtd looks for hooks when it starts: restart it (or send it SIGHUP) to use it"

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/tided $(DESTDIR)$(BINDIR)/tidectl \
		$(DESTDIR)$(MANDIR)/man8/tided.8 $(DESTDIR)$(MANDIR)/man8/tidectl.8 \
		$(DESTDIR)$(MANDIR)/man8/tide-qemu-hook.8 \
		$(DESTDIR)$(MANDIR)/man5/tided.conf.5 $(DESTDIR)$(SYSTEMD_UNITDIR)/tided.service
	$(Q)link=$(DESTDIR)$(HOOK_LINK); \
	if [ -L "$$link" ] && [ "$$(readlink "$$link")" = '$(HOOK_INSTALLED)' ]; then \
		rm -f "$$link"; \
	elif [ -e "$$link" ]; then \
		echo "  kept $$link: it is not the link to $(HOOK_INSTALLED) make install made"; \
	fi
	$(Q)rm -f $(DESTDIR)$(HOOK_INSTALLED)
	$(Q)rmdir $(DESTDIR)$(LIBEXECDIR)/tide 2>/dev/null || true
	$(Q)old=$(DESTDIR)$(LIBVIRT_HOOKDIR)/qemu; \
	if [ -f "$$old" ] && grep -qF '$(HOOK_MARK)' "$$old"; then rm -f "$$old"; fi
	@echo "  kept $(DESTDIR)$(SYSCONFDIR)/tide/tided.conf (your configuration)"
