"""Published cost figures per model (papers, torchvision weights metadata, timm)."""

from __future__ import annotations

from .registry import PublishedFigure as F

_TV = "torchvision weights metadata"
_TV_NOTE = "exact params; conv+linear GMACs rounded to 3 decimals"
_EFF = "paper Table 2 (Tan & Le 2019)"
_V2 = "official EfficientNetV2 README"
_MNV2 = "paper Table 4 (Sandler 2018)"
_SLIM = "TF-slim MobileNetV2 checkpoints (tensorflow/models)"
_SLIM_NOTE = "1001-class checkpoint; MACs in millions, params rounded"

PUBLISHED: dict[str, tuple[F, ...]] = {
    "efficientnet_b0": (F(_EFF, 224, 5.3e6, 0.39e9, 77.1, "paper FLOPs = multiply-adds"),
                        F(_TV, 224, 5288548, 0.386e9, None, _TV_NOTE)),
    "efficientnet_b1": (F(_EFF, 240, 7.8e6, 0.70e9, 79.1), F(_TV, 240, 7794184, 0.687e9, None, _TV_NOTE)),
    "efficientnet_b2": (F(_EFF, 260, 9.2e6, 1.0e9, 80.1),
                        F(_TV, 288, 9109994, 1.088e9, None, "torchvision evaluates B2 at 288")),
    "efficientnet_b3": (F(_EFF, 300, 12e6, 1.8e9, 81.6), F(_TV, 300, 12233232, 1.827e9, None, _TV_NOTE)),
    "efficientnet_b4": (F(_EFF, 380, 19e6, 4.2e9, 82.9, "paper value about 4% below exact count"),
                        F(_TV, 380, 19341616, 4.394e9, None, _TV_NOTE)),
    "efficientnet_b5": (F(_EFF, 456, 30e6, 9.9e9, 83.6, "paper value about 4% below exact count"),
                        F(_TV, 456, 30389784, 10.266e9, None, _TV_NOTE)),
    "efficientnet_b6": (F(_EFF, 528, 43e6, 19e9, 84.0), F(_TV, 528, 43040704, 19.068e9, None, _TV_NOTE)),
    "efficientnet_b7": (F(_EFF, 600, 66e6, 37e9, 84.3), F(_TV, 600, 66347960, 37.746e9, None, _TV_NOTE)),
    "efficientnet_v2_s": (F(_V2, 384, 21.5e6, 8.4e9, 83.9, "train 300 / eval 384"),
                          F(_TV, 384, 21458488, 8.366e9, None, _TV_NOTE)),
    "efficientnet_v2_m": (F(_V2, 480, 54.1e6, 24.7e9, 85.2, "train 384 / eval 480"),
                          F(_TV, 480, 54139356, 24.582e9, None, _TV_NOTE)),
    "efficientnet_v2_l": (F(_V2, 480, 119.5e6, 56.3e9, 85.7, "train 384 / eval 480"),
                          F(_TV, 480, 118515272, 56.080e9, None, _TV_NOTE)),
    "mobilenet_v2": (F(_MNV2, 224, 3.4e6, 300e6, 72.0, "MAdds"),
                     F(_TV, 224, 3504872, 0.301e9, 71.878, _TV_NOTE + "; top-1 of IMAGENET1K_V1")),
    "mobilenet_v2_035": (F(_SLIM, 224, 1.66e6, 59e6, 60.3, _SLIM_NOTE),),
    "mobilenet_v2_050": (F(_SLIM, 224, 1.95e6, 97e6, 65.4, _SLIM_NOTE),),
    "mobilenet_v2_075": (F(_SLIM, 224, 2.61e6, 209e6, 69.8, _SLIM_NOTE),),
    "mobilenet_v2_130": (F(_SLIM, 224, 5.34e6, 509e6, 74.4, _SLIM_NOTE),),
    "mobilenet_v2_140": (F(_MNV2, 224, 6.9e6, 585e6, 74.7, "width 1.4"),
                         F(_SLIM, 224, 6.06e6, 582e6, 75.0, _SLIM_NOTE)),
    "resnet50": (F("SENet paper (Hu 2018)", 224, 25.6e6, 3.86e9, None,
                   "original ResNet-50 (stride in first 1x1); GFLOPs = multiply-adds"),
                 F(_TV, 224, 25557032, 4.089e9, 76.13, "v1.5 (stride in 3x3); top-1 of IMAGENET1K_V1")),
    "se_resnet50": (F("SENet paper (Hu 2018)", 224, 28.1e6, 3.87e9, None,
                      "original layout; about 2.5M extra params (about 10%); r=16"),
                    F("timm results", 224, 28088024, None, None,
                      "v1.5 layout; timm reports 4.11 GMACs incl. batch norm"),
                    F("official SENet README (hujie-frank/SENet)", 224, None, None, 77.63,
                      "released Caffe model, original layout; top-1 error 22.37%, center 224 crop")),
}
