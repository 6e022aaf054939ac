"""ImageDecoder-20 cases: JPEG and PNG files that the project encodes here with PIL (Debian's python3-pil),
decoded to RGB, BGR and Grayscale and compared with PIL's own decoding, the spec reference's decoder
(RGB and BGR from convert("RGB"), Grayscale from convert("L")). Where ORT runs ImageDecoder it is compared
too; where it does not, PIL's pixels alone decide. A corrupt file must be refused with a clear message."""
import io

import numpy as np
from onnx import TensorProto, helper

from ort_ops_cases import MustFail, make_model, rng, value

U8 = TensorProto.UINT8


def _picture(name, height, width):
    """A smooth gradient with noise: JPEG has edges and flat areas to get wrong, PNG filters have work."""
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), (x + y) * 127 / (height + width)], -1)
    noise = rng(name).integers(-40, 40, (height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return np.frombuffer(buffer.getvalue(), np.uint8).copy()


def _reference(encoded, pixel_format):
    from PIL import Image
    image = Image.open(io.BytesIO(encoded.tobytes()))
    if pixel_format == "Grayscale":
        return np.array(image.convert("L"))[:, :, None]
    rgb = np.array(image.convert("RGB"))
    return rgb[:, :, ::-1].copy() if pixel_format == "BGR" else rgb


def _case(name, encoded, pixel_format):
    node = helper.make_node("ImageDecoder", ["encoded"], ["image"], pixel_format=pixel_format)
    model = make_model([node], [value("encoded", U8, encoded.shape)], [value("image", U8, rank=3)], {"": 20})
    return name, model, {"encoded": encoded}, 0.0, {"image": _reference(encoded, pixel_format)}


def cases():
    from PIL import Image
    rgb = Image.fromarray(_picture("image_rgb", 37, 23), "RGB")
    files = {
        "jpeg_420": _encode(rgb, "JPEG", quality=90),
        "jpeg_444": _encode(rgb, "JPEG", quality=95, subsampling=0),
        "jpeg_progressive": _encode(rgb, "JPEG", quality=80, progressive=True),
        "jpeg_gray": _encode(rgb.convert("L"), "JPEG", quality=85),
        "png_rgb": _encode(rgb, "PNG"),
        "png_rgba": _encode(Image.fromarray(np.dstack([_picture("image_rgba", 19, 31),
                                                       rng("alpha").integers(0, 256, (19, 31), np.uint8)]), "RGBA"),
                            "PNG"),
        "png_palette": _encode(rgb.convert("P", palette=Image.ADAPTIVE, colors=16), "PNG"),
        "png_gray": _encode(rgb.convert("L"), "PNG"),
        "png_1bit": _encode(rgb.convert("1"), "PNG"),
    }
    for name, encoded in files.items():
        for pixel_format in ("RGB", "BGR", "Grayscale"):
            yield _case(f"ImageDecoder_{name}_{pixel_format}", encoded, pixel_format)
    for name, encoded, fragment in (("truncated_jpeg", files["jpeg_420"][: len(files["jpeg_420"]) // 2], "JPEG"),
                                    ("truncated_png", files["png_rgb"][:60], "PNG")):
        node = helper.make_node("ImageDecoder", ["encoded"], ["image"])
        model = make_model([node], [value("encoded", U8, encoded.shape)], [value("image", U8, rank=3)], {"": 20})
        yield f"ImageDecoder_{name}", model, {"encoded": encoded.copy()}, MustFail(f"corrupt {fragment} data")
