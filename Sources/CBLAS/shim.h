#include <cblas.h>
/* Exported by DYNAMIC_ARCH builds of OpenBLAS (Debian's): used once, before the first BLAS
   call, to let the library pick its kernels again after OPENBLAS_CORETYPE is set.
   See Sources/NSASBackends/BLAS/OpenBLASCore.swift. */
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
/* Stops OpenBLAS's server threads (started when the library loads, one per CPU it sees): nsas
   runs OpenBLAS single-threaded and, with --threads 1, wants no second thread at all. A later
   multi-threaded BLAS call would start them again. */
int blas_thread_shutdown_(void);
