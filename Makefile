# tide: top-level build.  The build logic lives in Kbuild-helpers/*.mk.
#
#   make            build tided, tidectl, the BPF objects and skeletons
#   make check      install dependencies, build, run every test
#   make demo       install dependencies, build, run the two-host demo
#   make bench      run the benchmarks (tables on stdout, plots in build/bench)
#   make install    install binaries, man pages, systemd unit, libvirt hook
#   make SAN=1      ASan+UBSan build into build-san/
#   make V=1        show full commands
#   make format-check, make lint, make compile_commands.json: see lint.mk

.DELETE_ON_ERROR:
.SUFFIXES:
SHELL := /bin/bash

include Kbuild-helpers/common.mk
include Kbuild-helpers/vmlinux.mk
include Kbuild-helpers/bpf.mk
include Kbuild-helpers/features.mk
include Kbuild-helpers/daemon.mk
include Kbuild-helpers/tidectl.mk
include Kbuild-helpers/bpftests.mk
include Kbuild-helpers/unit.mk
include Kbuild-helpers/tests.mk
include Kbuild-helpers/lint.mk
include Kbuild-helpers/fuzz.mk
# after lint.mk: it adds the hook to the format and lint checks
include Kbuild-helpers/hooks.mk

.DEFAULT_GOAL := all
.PHONY: all deps guest clean distclean

all: $(ALL_TARGETS)

deps:
	$(Q)bash Kbuild-helpers/deps.sh

guest:
	$(call msg,GUEST,$(BUILD)/guest)
	$(Q)bash tests/guest/build.sh $(BUILD)/guest

clean:
	$(Q)rm -rf build build-san

distclean: clean
