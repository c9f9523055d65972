#include "pngshim.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *err; size_t errlen; } err_ctx;

static void on_error(png_structp png, png_const_charp msg) {
    err_ctx *ctx = (err_ctx *)png_get_error_ptr(png);
    if (ctx && ctx->err && ctx->errlen > 0) {
        strncpy(ctx->err, msg ? msg : "unknown libpng error", ctx->errlen - 1);
        ctx->err[ctx->errlen - 1] = 0;
    }
    png_longjmp(png, 1);
}
static void on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

int nsas_png_write_rgba(void *file, const uint8_t *rgba, uint32_t width, uint32_t height,
                        char *err, size_t errlen) {
    err_ctx ctx = { err, errlen };
    if (err && errlen) err[0] = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (!png) { if (err) snprintf(err, errlen, "png_create_write_struct failed"); return 1; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_write_struct(&png, NULL); if (err) snprintf(err, errlen, "png_create_info_struct failed"); return 1; }
    if (setjmp(png_jmpbuf(png))) { png_destroy_write_struct(&png, &info); return 2; }
    png_init_io(png, (FILE *)file);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgba + (size_t)y * width * 4));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fflush((FILE *)file) != 0) { if (err) snprintf(err, errlen, "write failed (disk full?)"); return 3; }
    return 0;
}

int nsas_png_read_rgba(void *file, uint8_t **out, uint32_t *width, uint32_t *height,
                       char *err, size_t errlen) {
    err_ctx ctx = { err, errlen };
    uint8_t *volatile buf = NULL;
    if (err && errlen) err[0] = 0;
    *out = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (!png) { if (err) snprintf(err, errlen, "png_create_read_struct failed"); return 1; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); if (err) snprintf(err, errlen, "png_create_info_struct failed"); return 1; }
    if (setjmp(png_jmpbuf(png))) { free(buf); png_destroy_read_struct(&png, &info, NULL); return 2; }
    png_set_user_limits(png, 1u << 15, 1u << 15);
    png_init_io(png, (FILE *)file);
    png_read_info(png, info);
    png_set_expand(png); png_set_strip_16(png); png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_read_update_info(png, info);
    uint32_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4) { if (err) snprintf(err, errlen, "unexpected row size"); png_destroy_read_struct(&png, &info, NULL); return 4; }
    buf = malloc((size_t)w * h * 4);
    if (!buf) { if (err) snprintf(err, errlen, "out of memory"); png_destroy_read_struct(&png, &info, NULL); return 5; }
    for (uint32_t y = 0; y < h; y++) png_read_row(png, (png_bytep)(buf + (size_t)y * w * 4), NULL);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    *out = buf; *width = w; *height = h;
    return 0;
}

void nsas_png_free(uint8_t *p) { free(p); }
