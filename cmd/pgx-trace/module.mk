# pgx-trace: eBPF programs in bpf/trace.bpf.c, embedded as a libbpf skeleton.
PKGS_pgx-trace := libbpf libelf zlib
EXTRA_CPPFLAGS_pgx-trace := -Ibpf

TRACE_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/s390x/s390/' -e 's/riscv64/riscv/')
TRACE_BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(TRACE_ARCH) -Wall
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

$(BUILD)/vmlinux.h: $(DEPS_FIRST)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  BTF     $@")
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/bpf/trace.bpf.o: bpf/trace.bpf.c bpf/trace.h $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)$(CLANG) $(TRACE_BPF_CFLAGS) -I$(BUILD) -Ibpf -c $< -o $@

$(BUILD)/trace.skel.h: $(BUILD)/bpf/trace.bpf.o
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BPFTOOL) gen skeleton $< name trace_bpf > $@

$(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/pgx-trace/*.c)): $(BUILD)/trace.skel.h
