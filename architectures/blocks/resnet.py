"""ResNet blocks with optional squeeze-and-excitation (Hu et al., 2018)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import ConvNormAct, SqueezeExcite, create_activation


class SEBottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride in the 3×3) with SE on the residual branch before the add.

    ``conv1`` 1×1 → ``conv2`` 3×3 (stride) → ``conv3`` 1×1 (×4 channels, linear) → ``se`` →
    add shortcut (``downsample`` 1×1 conv + BN when shape changes) → activation.

    Args:
        se_reduction: SE squeeze width is ``out_channels // se_reduction``; 0 disables SE.
    """

    expansion = 4

    def __init__(
        self, in_channels: int, planes: int, stride: int = 1, *, se_reduction: int = 16, activation: str = "relu"
    ) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = ConvNormAct(in_channels, planes, 1, activation=activation)
        self.conv2 = ConvNormAct(planes, planes, 3, stride, activation=activation)
        self.conv3 = ConvNormAct(planes, out_channels, 1, activation=None)
        if se_reduction:
            self.se = SqueezeExcite(out_channels, out_channels // se_reduction, activation="relu")
        if stride != 1 or in_channels != out_channels:
            self.downsample = ConvNormAct(in_channels, out_channels, 1, stride, activation=None)
        self.act = create_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv3(self.conv2(self.conv1(x)))
        if "se" in self._modules:
            out = self.se(out)
        shortcut = self.downsample(x) if "downsample" in self._modules else x
        return self.act(out + shortcut)


class PreActSEBlock(nn.Module):
    """Pre-activation basic block (He et al., 2016) with SE, as in the CIFAR SENet18.

    ``bn1`` → act → ``conv1`` 3×3 (stride) → ``bn2`` → act → ``conv2`` 3×3 → ``se`` → add
    shortcut (a 1×1 conv on the pre-activated input when shape changes). SE squeezes with
    ``F.avg_pool2d`` over the whole map and uses 1×1 convs with bias.
    """

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1, *, se_reduction: int = 16,
                 activation: str = "relu") -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.act1 = create_activation(activation)
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.act2 = create_activation(activation)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        if se_reduction:
            self.se = PoolSqueezeExcite(planes, planes // se_reduction)
        if stride != 1 or in_channels != planes:
            self.shortcut = nn.Conv2d(in_channels, planes, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(x))
        shortcut = self.shortcut(out) if "shortcut" in self._modules else x
        out = self.conv2(self.act2(self.bn2(self.conv1(out))))
        if "se" in self._modules:
            out = self.se(out)
        return out + shortcut


class PoolSqueezeExcite(nn.Module):
    """CIFAR SENet gate written functionally: ``x * sigmoid(fc2(relu(fc1(avg_pool2d(x)))))``.

    ``fc1``/``fc2`` are 1×1 convs with bias; pooling and activations are ``F`` calls, not modules.
    """

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.avg_pool2d(x, (x.shape[2], x.shape[3]))
        scale = torch.sigmoid(self.fc2(F.relu(self.fc1(scale))))
        return x * scale
