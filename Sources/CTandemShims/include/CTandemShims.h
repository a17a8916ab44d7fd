/* Typed shims over the variadic and callback-based parts of libcurl and libtiff.
 * Swift cannot call C variadic functions or pass va_list, so every such call goes through
 * one small, typed function here. Nothing else is written in C. */
#ifndef TANDEM_SHIMS_H
#define TANDEM_SHIMS_H

#include "tandem_curl.h"
#include "tandem_tiff.h"
#include "tandem_crash.h"

#endif
