// Debian's libopenblas-dev installs cblas.h under the multiarch include directory,
// which the compiler searches by default.
#include <cblas.h>
