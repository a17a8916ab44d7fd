#ifndef TANDEM_TIFF_SHIMS_H
#define TANDEM_TIFF_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <tiffio.h>

/* Per-handle diagnostics. libtiff reports errors through printf-style callbacks with a va_list,
 * which Swift cannot consume; the trampolines below format the message into this buffer instead
 * of printing to stderr. The first error is kept (later ones are usually consequences). */
typedef struct tandem_tiff_diagnostics {
  int error_count;
  int warning_count;
  char first_error[512];
  char last_warning[256];
} tandem_tiff_diagnostics;

/* Silence libtiff's process-wide stderr handlers. Call once at start-up. */
void tandem_tiff_silence_global_handlers(void);

/* Client I/O callbacks (all receive the client data pointer given to the open call). */
typedef int64_t (*tandem_tiff_read_proc)(void *client, void *buffer, int64_t size);
typedef int64_t (*tandem_tiff_write_proc)(void *client, const void *buffer, int64_t size);
typedef int64_t (*tandem_tiff_seek_proc)(void *client, uint64_t offset, int whence);
typedef uint64_t (*tandem_tiff_size_proc)(void *client);

/* Opens a TIFF through client callbacks with per-handle error/warning routing into `diagnostics`
 * (which must outlive the handle). `write` may be NULL for read-only modes. Returns NULL on
 * failure, with the reason in `diagnostics->first_error`. */
TIFF *tandem_tiff_client_open(const char *name, const char *mode, void *client,
                              tandem_tiff_read_proc read, tandem_tiff_write_proc write,
                              tandem_tiff_seek_proc seek, tandem_tiff_size_proc size,
                              tandem_tiff_diagnostics *diagnostics, int64_t max_single_alloc);

/* Opens a TIFF file by path with the same per-handle diagnostics. */
TIFF *tandem_tiff_open_path(const char *path, const char *mode,
                            tandem_tiff_diagnostics *diagnostics, int64_t max_single_alloc);

/* TIFFGetField / TIFFSetField are variadic; typed accessors per value kind.
 * Getters return 1 when the tag is present, 0 otherwise. */
int tandem_tiff_get_u16(TIFF *tif, uint32_t tag, uint16_t *value);
int tandem_tiff_get_u32(TIFF *tif, uint32_t tag, uint32_t *value);
int tandem_tiff_get_u64(TIFF *tif, uint32_t tag, uint64_t *value);
int tandem_tiff_get_double(TIFF *tif, uint32_t tag, double *value);
int tandem_tiff_get_string(TIFF *tif, uint32_t tag, const char **value);
/* Tags stored as (count, pointer) pairs, e.g. TIFFTAG_JPEGTABLES (uint32 count) or GeoTIFF
 * double arrays (uint16 count under libtiff's default field info). */
int tandem_tiff_get_counted_u32(TIFF *tif, uint32_t tag, uint32_t *count, const void **values);
int tandem_tiff_get_counted_u16(TIFF *tif, uint32_t tag, uint16_t *count, const void **values);
/* Two uint16 values, e.g. TIFFTAG_YCBCRSUBSAMPLING. */
int tandem_tiff_get_u16_pair(TIFF *tif, uint32_t tag, uint16_t *first, uint16_t *second);

int tandem_tiff_set_u16(TIFF *tif, uint32_t tag, uint16_t value);
int tandem_tiff_set_u32(TIFF *tif, uint32_t tag, uint32_t value);
int tandem_tiff_set_int(TIFF *tif, uint32_t tag, int value);
int tandem_tiff_set_double(TIFF *tif, uint32_t tag, double value);
int tandem_tiff_set_string(TIFF *tif, uint32_t tag, const char *value);
int tandem_tiff_set_counted_u32(TIFF *tif, uint32_t tag, uint32_t count, const void *values);
int tandem_tiff_set_counted_u16(TIFF *tif, uint32_t tag, uint16_t count, const void *values);
int tandem_tiff_set_u16_pair(TIFF *tif, uint32_t tag, uint16_t first, uint16_t second);
/* Extra samples: count + uint16 array. */
int tandem_tiff_set_extrasamples(TIFF *tif, uint16_t count, const uint16_t *values);

/* Registers the GeoTIFF tags (33550 ModelPixelScale, 33922 ModelTiepoint, 34264
 * ModelTransformation, 34735 GeoKeyDirectory, 34736 GeoDoubleParams, 34737 GeoAsciiParams,
 * 42112 GDAL_METADATA, 42113 GDAL_NODATA) with libtiff so they can be written and read as
 * counted arrays. Idempotent and thread-safe; call before opening files. */
void tandem_tiff_register_geotiff_tags(void);

#endif
