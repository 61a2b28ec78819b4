# Common settings: quiet output, build directory, compiler flags.

V ?= 0
SAN ?= 0
ifeq ($(V),1)
  Q :=
  msg =
else
  Q := @
  msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
  MAKEFLAGS += --no-print-directory
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.0.0)

ifeq ($(SAN),1)
  BUILD ?= build-san
  SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
  BUILD ?= build
  SAN_FLAGS :=
endif

PREFIX ?= /usr/local
DESTDIR ?=

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

# Libraries tide links against; each is a Debian -dev package (deps.sh).
PKGS := libbpf liburing libnl-3.0 libnl-route-3.0 libvirt libvirt-qemu json-c libconfig libxml-2.0
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	  -Wformat=2 -Wshadow -Wstrict-prototypes -D_GNU_SOURCE \
	  -DTIDE_VERSION='"$(VERSION)"' $(SAN_FLAGS) \
	  -Iinclude -I$(BUILD) -I$(BUILD)/bpf $(PKG_CFLAGS)
LDFLAGS += $(SAN_FLAGS)
LDLIBS += $(PKG_LIBS) -lelf -lz -lpthread -lm

$(BUILD) $(BUILD)/bpf $(BUILD)/obj $(BUILD)/tests:
	$(Q)mkdir -p $@

# What embeds TIDE_VERSION depends on this stamp, rewritten only when the
# version changes (a commit, the first edit after one): otherwise a build
# after `git commit` keeps the old version in tided and the status reply.
VERSION_STAMP := $(BUILD)/version.stamp
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = '$(VERSION)' ] || \
	echo '$(VERSION)' > $(VERSION_STAMP); })
