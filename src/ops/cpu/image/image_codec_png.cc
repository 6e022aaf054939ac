// PNG decoding through libpng's sequential reading API. libpng reports errors through the error
// function, which must not return: it longjmps back to DecodePng (png_jmpbuf). Everything whose
// destructor matters is made before setjmp, so the jump skips no destructor.
#include "ops/cpu/image/image_codecs.h"

#include <string>

#ifdef TESSERA_HAVE_PNG
#include <png.h>

#include <cstring>
#endif

namespace tessera {

#ifdef TESSERA_HAVE_PNG
namespace {

struct PngSource {
  const uint8_t* data;
  size_t size, at;
  std::string error;
};

void PngRead(png_structp png, png_bytep out, png_size_t count) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (count > source->size - source->at) png_error(png, "the data ends before the image does");
  std::memcpy(out, source->data + source->at, count);
  source->at += count;
}

[[noreturn]] void PngError(png_structp png, png_const_charp message) {
  static_cast<PngSource*>(png_get_error_ptr(png))->error = message;
  png_longjmp(png, 1);
}

void PngWarning(png_structp, png_const_charp) {}  // e.g. a bad ancillary chunk: PIL reads on too

}  // namespace

StatusOr<DecodedImage> DecodePng(const uint8_t* data, size_t size) {
  DecodedImage image;
  PngSource source{data, size, 0, {}};
  std::vector<png_bytep> rows;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, PngError, PngWarning);
  if (png == nullptr) return ResourceExhausted("cannot start a PNG decoder");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return ResourceExhausted("cannot start a PNG decoder");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return InvalidArgument("corrupt PNG data: " + source.error);
  }
  png_set_read_fn(png, &source, PngRead);
  png_read_info(png, info);
  const png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
  if (width == 0 || height == 0 || static_cast<int64_t>(width) * height > kMaxDecodedPixels) {
    png_error(png, "the image is empty or larger than the decoder's pixel limit");  // no temporaries: it jumps
  }
  png_set_expand(png);       // palette to RGB, gray below 8 bits to 8, tRNS to an alpha channel
  png_set_strip_16(png);     // 16-bit samples keep their high byte
  png_set_strip_alpha(png);  // alpha dropped, not composited
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != static_cast<size_t>(width) * 3) png_error(png, "unexpected row layout");
  image.height = height;
  image.width = width;
  image.rgb.resize(static_cast<size_t>(image.height * image.width * 3));
  rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = image.rgb.data() + static_cast<size_t>(y) * width * 3;
  png_read_image(png, rows.data());
  png_destroy_read_struct(&png, &info, nullptr);
  return image;
}

#else

StatusOr<DecodedImage> DecodePng(const uint8_t*, size_t) {
  return Unimplemented("PNG decoding needs libpng, which this build of Tessera was configured without");
}

#endif

}  // namespace tessera
