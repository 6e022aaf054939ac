// JPEG decoding through libjpeg(-turbo). libjpeg reports errors by calling error_exit, which must not
// return: it longjmps back to DecodeJpeg. Everything whose destructor matters is made before setjmp, so
// the jump skips no destructor.
#include "ops/cpu/image/image_codecs.h"

#include <string>

#ifdef TESSERA_HAVE_JPEG
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first

#include <jerror.h>
#include <jpeglib.h>
#endif

namespace tessera {

#ifdef TESSERA_HAVE_JPEG
namespace {

struct JpegErrors {
  jpeg_error_mgr base;  // first, so libjpeg's pointer to it is a pointer to this
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void JpegErrorExit(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// libjpeg warns, and goes on with gray blocks, where the data ends early; that is an error here. Its other
// warnings (extraneous bytes before a marker, which many cameras write) are not, as in libjpeg and PIL.
void JpegMessage(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) JpegErrorExit(cinfo);
}

}  // namespace

StatusOr<DecodedImage> DecodeJpeg(const uint8_t* data, size_t size) {
  DecodedImage image;
  std::string failure;
  jpeg_decompress_struct cinfo;
  JpegErrors errors;
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = JpegErrorExit;
  errors.base.emit_message = JpegMessage;
  errors.message[0] = '\0';
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return InvalidArgument(std::string("corrupt JPEG data: ") + errors.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    failure = "CMYK JPEG images are not supported";
  } else if (cinfo.image_width == 0 || cinfo.image_height == 0 ||
             static_cast<int64_t>(cinfo.image_width) * cinfo.image_height > kMaxDecodedPixels) {
    failure = "JPEG image of " + std::to_string(cinfo.image_width) + " x " + std::to_string(cinfo.image_height) +
              " pixels is empty or larger than the limit of " + std::to_string(kMaxDecodedPixels);
  }
  if (!failure.empty()) {
    jpeg_destroy_decompress(&cinfo);
    return InvalidArgument(failure);
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  image.height = cinfo.output_height;
  image.width = cinfo.output_width;
  image.rgb.resize(static_cast<size_t>(image.height * image.width * 3));
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image.rgb.data() + static_cast<size_t>(cinfo.output_scanline) * image.width * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return image;
}

#else

StatusOr<DecodedImage> DecodeJpeg(const uint8_t*, size_t) {
  return Unimplemented("JPEG decoding needs libjpeg, which this build of Tessera was configured without");
}

#endif

}  // namespace tessera
