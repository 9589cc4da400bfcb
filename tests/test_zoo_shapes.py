"""Feature-map shapes through the zoo, and the two TF-"same" padding modes."""

import math

import pytest
import torch

from convcost.architectures import create_model
from convcost.architectures.layers import create_conv2d


def test_mobilenet_v2_stage_shapes_at_512() -> None:
    model = create_model("mobilenet_v2", device="meta").eval()
    x = model.stem(torch.empty(1, 3, 512, 512, device="meta"))
    shapes = [tuple(x.shape[1:])]
    for stage in model.stages:
        x = stage(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [
        (32, 256, 256), (16, 256, 256), (24, 128, 128), (32, 64, 64),
        (64, 32, 32), (96, 32, 32), (160, 16, 16), (320, 16, 16),
    ]


def test_efficientnet_b0_head_shapes() -> None:
    model = create_model("efficientnet_b0", device="meta").eval()
    x = model.stages(model.stem(torch.empty(1, 3, 224, 224, device="meta")))
    assert tuple(x.shape) == (1, 320, 7, 7)
    assert tuple(model.head(x).shape) == (1, 1280, 7, 7)
    assert tuple(model(torch.empty(1, 3, 224, 224, device="meta")).shape) == (1, 1000)


def test_senet18_maps_cifar_images_to_ten_logits() -> None:
    model = create_model("senet18").eval()
    with torch.no_grad():
        assert tuple(model(torch.randn(1, 3, 32, 32)).shape) == (1, 10)


@pytest.mark.parametrize("size", [224, 225, 97])
@pytest.mark.parametrize(("kernel", "stride"), [(3, 2), (5, 2), (3, 1), (5, 1)])
def test_same_padding_modes_give_ceil_and_agree(size: int, kernel: int, stride: int) -> None:
    torch.manual_seed(0)
    dynamic = create_conv2d(4, 6, kernel, stride, padding="same_dynamic")
    static = create_conv2d(4, 6, kernel, stride, padding="same_static", input_size=(size, size))
    static.load_state_dict(dynamic.state_dict())
    x = torch.randn(1, 4, size, size)
    with torch.no_grad():
        out_dynamic, out_static = dynamic(x), static(x)
    assert out_dynamic.shape[-2:] == (math.ceil(size / stride),) * 2
    assert torch.equal(out_dynamic, out_static)


@pytest.mark.parametrize("size", [224, 225, 97])
def test_same_padding_whole_network_gives_ceil(size: int) -> None:
    torch.manual_seed(0)
    dynamic = create_model("efficientnet_b0", padding="same_dynamic").eval()
    static = create_model("efficientnet_b0", padding="same_static", image_size=size).eval()
    static.load_state_dict(dynamic.state_dict())
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        features = dynamic.forward_features(x)
        assert features.shape[-1] == math.ceil(size / 32)
        torch.testing.assert_close(static(x), dynamic(x))


def test_same_static_refuses_another_size() -> None:
    model = create_model("efficientnet_b0", padding="same_static", device="meta").eval()
    with pytest.raises(ValueError, match="built for 224x224 inputs but got 225x225"):
        model(torch.empty(1, 3, 225, 225, device="meta"))
