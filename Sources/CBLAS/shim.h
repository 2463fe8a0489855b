// BLIS (Debian's libblis-pthread-dev): its CBLAS interface, and the few BLIS calls the project
// uses to choose its kernels and its thread count. The header lives under the multiarch include
// directory, which the compiler searches by default.
//
// The system headers BLIS's header includes come first, before it defines _POSIX_C_SOURCE, so
// they are the same ones (in the same configuration) the rest of the program sees.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <stdarg.h>
#include <float.h>
#include <errno.h>
#include <ctype.h>
#include <time.h>
#include <stdint.h>
#include <stdbool.h>
#include <complex.h>
#include <pthread.h>
#include <blis-pthread/cblas.h>

// From blis.h (not included whole: it is large, and these are all the project needs).
dim_t bli_thread_get_num_threads(void);
void bli_thread_set_num_threads(dim_t value);
int bli_arch_query_id(void);
char *bli_arch_string(int id);
