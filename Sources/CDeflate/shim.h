#ifndef TANDEM_CDEFLATE_SHIM_H
#define TANDEM_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
