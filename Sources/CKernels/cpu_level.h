// What the CPU offers the kernels, detected once: shared by every file of the module.
#ifndef TT_CPU_LEVEL_H
#define TT_CPU_LEVEL_H

/// 2: AVX-512 (F, VL) with AVX2 and FMA, 1: AVX2 and FMA, 0: neither (or not x86-64).
int tt_cpu_level(void);

#endif
