#ifndef NSAS_PNGSHIM_H
#define NSAS_PNGSHIM_H
#include <stddef.h>
#include <stdint.h>

/* libpng reports errors by longjmp; these wrappers catch them and return 0 on success or a
   non-zero code with the library's message in `err` (NUL-terminated, at most errlen bytes). */

/* Writes 8-bit RGBA rows (width*4 bytes each) to an open FILE* given as void*. */
int nsas_png_write_rgba(void *file, const uint8_t *rgba, uint32_t width, uint32_t height,
                        char *err, size_t errlen);

/* Reads a PNG from an open FILE* into 8-bit RGBA. On success *out is malloc'd
   (free with nsas_png_free) and holds width*height*4 bytes. */
int nsas_png_read_rgba(void *file, uint8_t **out, uint32_t *width, uint32_t *height,
                       char *err, size_t errlen);
void nsas_png_free(uint8_t *p);
#endif
