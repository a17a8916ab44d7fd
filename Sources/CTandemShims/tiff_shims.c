#include "tandem_tiff.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tandem_tiff_error_trampoline(TIFF *tif, void *user, const char *module, const char *fmt,
                                        va_list ap) {
  (void)tif;
  tandem_tiff_diagnostics *d = (tandem_tiff_diagnostics *)user;
  if (d == NULL) return 1;
  if (d->error_count == 0) {
    char text[448];
    vsnprintf(text, sizeof text, fmt, ap);
    snprintf(d->first_error, sizeof d->first_error, "%s: %s", module ? module : "libtiff", text);
  }
  d->error_count += 1;
  return 1; /* handled: do not reach the global (stderr) handler */
}

static int tandem_tiff_warning_trampoline(TIFF *tif, void *user, const char *module,
                                          const char *fmt, va_list ap) {
  (void)tif;
  tandem_tiff_diagnostics *d = (tandem_tiff_diagnostics *)user;
  if (d == NULL) return 1;
  char text[200];
  vsnprintf(text, sizeof text, fmt, ap);
  snprintf(d->last_warning, sizeof d->last_warning, "%s: %s", module ? module : "libtiff", text);
  d->warning_count += 1;
  return 1;
}

void tandem_tiff_silence_global_handlers(void) {
  TIFFSetErrorHandler(NULL);
  TIFFSetWarningHandler(NULL);
}

/* libtiff's callbacks take thandle_t/tmsize_t/toff_t; adapt them to the typed client procs.
 * The client pointer given to TIFFClientOpenExt is a small block holding the procs. */
typedef struct tandem_tiff_client {
  void *client;
  tandem_tiff_read_proc read;
  tandem_tiff_write_proc write;
  tandem_tiff_seek_proc seek;
  tandem_tiff_size_proc size;
} tandem_tiff_client;

static tmsize_t client_read(thandle_t h, void *buf, tmsize_t size) {
  tandem_tiff_client *c = (tandem_tiff_client *)h;
  return (tmsize_t)c->read(c->client, buf, (int64_t)size);
}
static tmsize_t client_write(thandle_t h, void *buf, tmsize_t size) {
  tandem_tiff_client *c = (tandem_tiff_client *)h;
  if (c->write == NULL) return -1;
  return (tmsize_t)c->write(c->client, buf, (int64_t)size);
}
static toff_t client_seek(thandle_t h, toff_t off, int whence) {
  tandem_tiff_client *c = (tandem_tiff_client *)h;
  int64_t r = c->seek(c->client, (uint64_t)off, whence);
  return r < 0 ? (toff_t)-1 : (toff_t)r;
}
static int client_close(thandle_t h) {
  free(h);
  return 0;
}
static toff_t client_size(thandle_t h) {
  tandem_tiff_client *c = (tandem_tiff_client *)h;
  return (toff_t)c->size(c->client);
}
static int client_map(thandle_t h, void **base, toff_t *size) {
  (void)h; (void)base; (void)size;
  return 0;
}
static void client_unmap(thandle_t h, void *base, toff_t size) {
  (void)h; (void)base; (void)size;
}

static TIFFOpenOptions *make_options(tandem_tiff_diagnostics *diagnostics, int64_t max_alloc) {
  TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
  if (opts == NULL) return NULL;
  TIFFOpenOptionsSetErrorHandlerExtR(opts, tandem_tiff_error_trampoline, diagnostics);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, tandem_tiff_warning_trampoline, diagnostics);
  if (max_alloc > 0) TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t)max_alloc);
  return opts;
}

TIFF *tandem_tiff_client_open(const char *name, const char *mode, void *client,
                              tandem_tiff_read_proc read, tandem_tiff_write_proc write,
                              tandem_tiff_seek_proc seek, tandem_tiff_size_proc size,
                              tandem_tiff_diagnostics *diagnostics, int64_t max_single_alloc) {
  tandem_tiff_register_geotiff_tags();
  tandem_tiff_client *c = (tandem_tiff_client *)malloc(sizeof *c);
  if (c == NULL) return NULL;
  c->client = client;
  c->read = read;
  c->write = write;
  c->seek = seek;
  c->size = size;
  TIFFOpenOptions *opts = make_options(diagnostics, max_single_alloc);
  if (opts == NULL) {
    free(c);
    return NULL;
  }
  TIFF *tif = TIFFClientOpenExt(name, mode, (thandle_t)c, client_read, client_write, client_seek,
                                client_close, client_size, client_map, client_unmap, opts);
  TIFFOpenOptionsFree(opts);
  /* On failure libtiff has already called client_close, which freed `c`. */
  return tif;
}

TIFF *tandem_tiff_open_path(const char *path, const char *mode,
                            tandem_tiff_diagnostics *diagnostics, int64_t max_single_alloc) {
  tandem_tiff_register_geotiff_tags();
  TIFFOpenOptions *opts = make_options(diagnostics, max_single_alloc);
  if (opts == NULL) return NULL;
  TIFF *tif = TIFFOpenExt(path, mode, opts);
  TIFFOpenOptionsFree(opts);
  return tif;
}

int tandem_tiff_get_u16(TIFF *tif, uint32_t tag, uint16_t *value) {
  return TIFFGetField(tif, tag, value);
}
int tandem_tiff_get_u32(TIFF *tif, uint32_t tag, uint32_t *value) {
  return TIFFGetField(tif, tag, value);
}
int tandem_tiff_get_u64(TIFF *tif, uint32_t tag, uint64_t *value) {
  return TIFFGetField(tif, tag, value);
}
int tandem_tiff_get_double(TIFF *tif, uint32_t tag, double *value) {
  return TIFFGetField(tif, tag, value);
}
int tandem_tiff_get_string(TIFF *tif, uint32_t tag, const char **value) {
  return TIFFGetField(tif, tag, value);
}
int tandem_tiff_get_counted_u32(TIFF *tif, uint32_t tag, uint32_t *count, const void **values) {
  return TIFFGetField(tif, tag, count, values);
}
int tandem_tiff_get_counted_u16(TIFF *tif, uint32_t tag, uint16_t *count, const void **values) {
  return TIFFGetField(tif, tag, count, values);
}
int tandem_tiff_get_u16_pair(TIFF *tif, uint32_t tag, uint16_t *first, uint16_t *second) {
  return TIFFGetField(tif, tag, first, second);
}

int tandem_tiff_set_u16(TIFF *tif, uint32_t tag, uint16_t value) {
  return TIFFSetField(tif, tag, (int)value);
}
int tandem_tiff_set_u32(TIFF *tif, uint32_t tag, uint32_t value) {
  return TIFFSetField(tif, tag, value);
}
int tandem_tiff_set_int(TIFF *tif, uint32_t tag, int value) {
  return TIFFSetField(tif, tag, value);
}
int tandem_tiff_set_double(TIFF *tif, uint32_t tag, double value) {
  return TIFFSetField(tif, tag, value);
}
int tandem_tiff_set_string(TIFF *tif, uint32_t tag, const char *value) {
  return TIFFSetField(tif, tag, value);
}
int tandem_tiff_set_counted_u32(TIFF *tif, uint32_t tag, uint32_t count, const void *values) {
  return TIFFSetField(tif, tag, count, values);
}
int tandem_tiff_set_counted_u16(TIFF *tif, uint32_t tag, uint16_t count, const void *values) {
  return TIFFSetField(tif, tag, (int)count, values);
}
int tandem_tiff_set_u16_pair(TIFF *tif, uint32_t tag, uint16_t first, uint16_t second) {
  return TIFFSetField(tif, tag, (int)first, (int)second);
}
int tandem_tiff_set_extrasamples(TIFF *tif, uint16_t count, const uint16_t *values) {
  return TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, (int)count, values);
}

/* GeoTIFF and GDAL private tags. Counts are uint16 (TIFF_VARIABLE, passcount) as in libgeotiff. */
static const TIFFFieldInfo tandem_geotiff_fields[] = {
    {33550, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "ModelPixelScaleTag"},
    {33922, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "ModelTiepointTag"},
    {34264, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "ModelTransformationTag"},
    {34735, -1, -1, TIFF_SHORT, FIELD_CUSTOM, 1, 1, "GeoKeyDirectoryTag"},
    {34736, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, "GeoDoubleParamsTag"},
    {34737, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, "GeoASCIIParamsTag"},
};

static TIFFExtendProc tandem_parent_extender = NULL;

static void tandem_tag_extender(TIFF *tif) {
  TIFFMergeFieldInfo(tif, tandem_geotiff_fields,
                     sizeof tandem_geotiff_fields / sizeof tandem_geotiff_fields[0]);
  if (tandem_parent_extender) tandem_parent_extender(tif);
}

static void tandem_register_once(void) {
  tandem_parent_extender = TIFFSetTagExtender(tandem_tag_extender);
}

void tandem_tiff_register_geotiff_tags(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, tandem_register_once);
}
