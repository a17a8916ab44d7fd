#ifndef TANDEM_CTIFF_SHIM_H
#define TANDEM_CTIFF_SHIM_H
#include <tiffio.h>
#endif
