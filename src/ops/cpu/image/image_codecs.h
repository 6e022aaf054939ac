// Decoders of compressed image files into 8-bit RGB, for ImageDecoder. Each wraps one Debian library
// (libjpeg-turbo, libpng), linked when CMake found it (TESSERA_HAVE_JPEG, TESSERA_HAVE_PNG); without its
// library a decoder answers Unimplemented. Bytes come from the model's input, so every decoder treats
// them as untrusted: a corrupt or truncated file is an InvalidArgument with the library's own message,
// never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tessera/status.h"

namespace tessera {

// height x width pixels of R, G, B bytes, rows top to bottom.
struct DecodedImage {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> rgb;
};

// The largest image the decoders accept (pixels), so that a header cannot ask for unbounded memory.
constexpr int64_t kMaxDecodedPixels = int64_t{1} << 28;

// JPEG (baseline and progressive; grayscale and YCbCr; CMYK is refused) as libjpeg's default decoder
// gives it: islow IDCT, fancy upsampling, which is what PIL reads too.
StatusOr<DecodedImage> DecodeJpeg(const uint8_t* data, size_t size);
// PNG of any bit depth and color type: palettes and low bit depths expanded, 16-bit samples cut to their
// high byte, gray replicated to RGB, alpha dropped (not composited), gamma chunks ignored (PIL's reading).
StatusOr<DecodedImage> DecodePng(const uint8_t* data, size_t size);

}  // namespace tessera
