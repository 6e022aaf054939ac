# ImageDecoder's codecs: libjpeg(-turbo) and libpng (Debian's libjpeg62-turbo-dev and libpng-dev). Each is
# optional: without it the op still builds and answers that the format needs the library. The definitions
# are set on the one file that uses each, so the rest of the engine keeps its compile cache.
find_package(JPEG)
find_package(PNG)
if(JPEG_FOUND)
  set_source_files_properties(${CMAKE_SOURCE_DIR}/src/ops/cpu/image/image_codec_jpeg.cc PROPERTIES
                              COMPILE_DEFINITIONS TESSERA_HAVE_JPEG=1)
  target_link_libraries(tessera_engine PUBLIC JPEG::JPEG)
else()
  message(STATUS "libjpeg not found: ImageDecoder will refuse JPEG images")
endif()
if(PNG_FOUND)
  set_source_files_properties(${CMAKE_SOURCE_DIR}/src/ops/cpu/image/image_codec_png.cc PROPERTIES
                              COMPILE_DEFINITIONS TESSERA_HAVE_PNG=1)
  target_link_libraries(tessera_engine PUBLIC PNG::PNG)
else()
  message(STATUS "libpng not found: ImageDecoder will refuse PNG images")
endif()
