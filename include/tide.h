/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tide: definitions shared by every user-space part (tided, tidectl, tests).
 *
 * Kept free of BPF types on purpose: headers shared with BPF programs are
 * include/cpu_abi.h, net_abi.h and kvm_abi.h.  This one is for user space only.
 */
#ifndef TIDE_H
#define TIDE_H

#ifndef TIDE_VERSION
#define TIDE_VERSION "0.0.0"
#endif

/* Defaults of a real host.  The testbed overrides each of them per
 * instance in its configuration file. */
#define TIDE_DEFAULT_CONFIG "/etc/tide/tided.conf"
#define TIDE_DEFAULT_LIBVIRT_URI "qemu:///system"
#define TIDE_DEFAULT_CONTROL_SOCKET "/run/tide/tided.sock"
#define TIDE_DEFAULT_STATE_DIR "/var/lib/tide"
#define TIDE_DEFAULT_TEXTFILE_DIR "/var/lib/prometheus/node-exporter"
#define TIDE_DEFAULT_LIBVIRT_RUN_DIR "/run/libvirt"
/* the metrics file in textfile_dir */
#define TIDE_TEXTFILE_NAME "tide.prom"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define __tide_printf(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#define __tide_must_check __attribute__((warn_unused_result))

#endif /* TIDE_H */
