// ImageDecoder (opset 20): decodes the bytes of one image file (a 1-D uint8 tensor) into an
// [H, W, 3] uint8 tensor of RGB or BGR pixels, or [H, W, 1] for pixel_format "Grayscale".
//
// The file's format is told by its signature: JPEG and PNG are decoded (image_codecs.h); BMP, WebP,
// TIFF, JPEG 2000 and PNM, which the spec also names, are refused with their name. The spec's reference
// decodes with PIL: Grayscale is PIL's convert("L") of the RGB pixels (ITU-R 601-2 luma in PIL's fixed
// point), which this kernel computes the same way. Unlike that reference, RGB and BGR always give three
// channels (PIL keeps a PNG's alpha or a gray image's single channel), as the spec's text describes.
#include <cstring>
#include <string>

#include "ops/cpu/image/image_codecs.h"
#include "ops/cpu/image/image_kernels.h"
#include "ops/kernel.h"

namespace tessera {
namespace {

enum class PixelFormat { kRgb, kBgr, kGrayscale };

bool StartsWith(const uint8_t* data, size_t size, const char* signature, size_t length, size_t at = 0) {
  return size >= at + length && std::memcmp(data + at, signature, length) == 0;
}

// The name of a format the spec lists but this kernel does not decode, or nullptr.
const char* UndecodedFormat(const uint8_t* d, size_t n) {
  if (StartsWith(d, n, "BM", 2)) return "BMP";
  if (StartsWith(d, n, "RIFF", 4) && StartsWith(d, n, "WEBP", 4, 8)) return "WebP";
  if (StartsWith(d, n, "II*\0", 4) || StartsWith(d, n, "MM\0*", 4)) return "TIFF";
  if (StartsWith(d, n, "\0\0\0\x0CjP  ", 8) || StartsWith(d, n, "\xFF\x4F\xFF\x51", 4)) return "JPEG 2000";
  if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7') return "PNM";
  return nullptr;
}

StatusOr<DecodedImage> Decode(const uint8_t* data, size_t size) {
  if (StartsWith(data, size, "\xFF\xD8\xFF", 3)) return DecodeJpeg(data, size);
  if (StartsWith(data, size, "\x89PNG\r\n\x1A\n", 8)) return DecodePng(data, size);
  if (const char* format = UndecodedFormat(data, size)) {
    return Unimplemented(std::string("the encoded stream is a ") + format + " image; only JPEG and PNG are decoded");
  }
  return InvalidArgument("the encoded stream of " + std::to_string(size) +
                         " bytes is not an image file of a known format (no JPEG or PNG signature)");
}

class ImageDecoderKernel : public Kernel {
 public:
  explicit ImageDecoderKernel(PixelFormat format) : format_(format) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& encoded = ctx.input(0);
    if (encoded.dtype() != DType::kUInt8 || encoded.shape().size() != 1) {
      return KernelContext::Error("input 'encoded_stream' must be a 1-D uint8 tensor, got " +
                                  std::string(DTypeName(encoded.dtype())) + " " + ShapeToString(encoded.shape()));
    }
    StatusOr<DecodedImage> image = Decode(encoded.data<uint8_t>(), static_cast<size_t>(encoded.element_count()));
    if (!image.ok()) return image.status().WithContext("input 'encoded_stream'");
    const int64_t pixels = image->height * image->width;
    const int64_t channels = format_ == PixelFormat::kGrayscale ? 1 : 3;
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, DType::kUInt8,
                                                                      {image->height, image->width, channels}));
    uint8_t* dst = out->data<uint8_t>();
    const uint8_t* rgb = image->rgb.data();
    switch (format_) {
      case PixelFormat::kRgb: std::memcpy(dst, rgb, static_cast<size_t>(pixels * 3)); break;
      case PixelFormat::kBgr:
        for (int64_t p = 0; p < pixels; ++p) {
          dst[3 * p] = rgb[3 * p + 2];
          dst[3 * p + 1] = rgb[3 * p + 1];
          dst[3 * p + 2] = rgb[3 * p];
        }
        break;
      case PixelFormat::kGrayscale:
        // L = R 299/1000 + G 587/1000 + B 114/1000 in 16-bit fixed point, rounded (PIL's L24).
        for (int64_t p = 0; p < pixels; ++p) {
          const uint32_t l = rgb[3 * p] * 19595u + rgb[3 * p + 1] * 38470u + rgb[3 * p + 2] * 7471u + 0x8000u;
          dst[p] = static_cast<uint8_t>(l >> 16);
        }
        break;
    }
    return Status::Ok();
  }

 private:
  PixelFormat format_;
};

StatusOr<std::unique_ptr<Kernel>> CreateImageDecoder(const KernelInit& init) {
  const std::string name = init.node.GetString("pixel_format", "RGB");
  PixelFormat format;
  if (name == "RGB") format = PixelFormat::kRgb;
  else if (name == "BGR") format = PixelFormat::kBgr;
  else if (name == "Grayscale") format = PixelFormat::kGrayscale;
  else return KernelContext::Error("attribute 'pixel_format' must be RGB, BGR or Grayscale, got \"" + name + "\"");
  return std::unique_ptr<Kernel>(std::make_unique<ImageDecoderKernel>(format));
}

}  // namespace

void RegisterImageDecoderKernel(KernelRegistry& registry) {
  registry.Register("ImageDecoder", 20, kLatestOpset, CreateImageDecoder);
}

}  // namespace tessera
