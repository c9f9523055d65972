#include <cblas.h>
/* Exported by DYNAMIC_ARCH builds of OpenBLAS (Debian's): used once, before the first BLAS
   call, to let the library pick its kernels again after OPENBLAS_CORETYPE is set.
   See Sources/NSASBackends/BLAS/OpenBLASCore.swift. */
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
