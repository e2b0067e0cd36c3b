"""HitNet: spectrogram frames in, per-frame onset probability and velocity for each drum class out.

A small convolutional front end over (time, frequency) with frequency pooling (3 convs), then residual dilated
temporal convolutions (receptive field about +-0.6 s, enough to hear an open hi-hat ring or a ride's
wash), then two 1x1 heads: onset logits and velocities (0..1 of MIDI 127), one of each per class.
About 0.2 M parameters: it trains on a 2-core CPU and reads a 3-minute song in a couple of seconds.
"""

from __future__ import annotations

import torch
from torch import nn

TCN_DILATIONS = (1, 2, 4, 8, 16, 1)


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class _TemporalBlock(nn.Module):
    def __init__(self, channels: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class HitNet(nn.Module):
    """``forward(spec)`` with spec (batch, frames, bands) -> (onset logits, velocity), each (batch, frames, classes)."""

    def __init__(self, n_bands: int, n_classes: int, width: int = 96, dropout: float = 0.1) -> None:
        super().__init__()
        self.n_bands, self.n_classes, self.width = n_bands, n_classes, width
        # One conv at full frequency resolution, then two at a third of it: half the cost of two full
        # blocks for the same accuracy class, which matters on a 2-core CPU.
        self.front = nn.Sequential(
            *_conv(1, 16), nn.MaxPool2d((1, 3)), *_conv(16, 32), *_conv(32, 32), nn.MaxPool2d((1, 3))
        )
        pooled = n_bands // 3 // 3
        self.project = nn.Sequential(nn.Conv1d(32 * pooled, width, 1), nn.ReLU(inplace=True))
        self.temporal = nn.Sequential(*(_TemporalBlock(width, d, dropout) for d in TCN_DILATIONS))
        self.onset = nn.Conv1d(width, n_classes, 1)
        self.velocity = nn.Conv1d(width, n_classes, 1)

    def forward(self, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.front(spec.unsqueeze(1))  # (b, c, t, f')
        b, c, t, f = x.shape
        x = x.permute(0, 1, 3, 2).reshape(b, c * f, t)
        x = self.temporal(self.project(x))
        onset = self.onset(x).transpose(1, 2)
        velocity = torch.sigmoid(self.velocity(x)).transpose(1, 2)
        return onset, velocity

    def config(self) -> dict[str, int]:
        return {"n_bands": self.n_bands, "n_classes": self.n_classes, "width": self.width}


class HitNetEnsemble(nn.Module):
    """Several HitNets trained apart, heard as one: their onset probabilities and velocities averaged.

    ``forward`` has HitNet's signature; it returns the logit of the mean probability, so whatever
    applies a sigmoid to a HitNet's output reads the ensemble the same way. Members differ by seed and
    loss weighting; their mistakes differ more than their hits, so the average is surer than either.

    ``class_members`` (class index -> member indices) limits a class to the members that hear it
    well: networks trained on different data can each be the better ear for some drums. Classes it
    does not name are averaged over every member.
    """

    def __init__(self, members: list[HitNet], class_members: dict[int, list[int]] | None = None) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one HitNet")
        self.members = nn.ModuleList(members)
        n_classes = members[0].n_classes
        self.class_members = {int(c): sorted(int(m) for m in ms) for c, ms in (class_members or {}).items()}
        voices = torch.ones(len(members), n_classes)
        for cls, chosen in self.class_members.items():
            if not 0 <= cls < n_classes or not chosen or not all(0 <= m < len(members) for m in chosen):
                raise ValueError(
                    f"class {cls} is given members {chosen}, not among the {len(members)} of this ensemble"
                )
            voices[:, cls] = 0.0
            voices[chosen, cls] = 1.0
        # (members, 1, 1, classes): each member's say in each class, each class's column summing to 1.
        self.register_buffer("voices", (voices / voices.sum(dim=0))[:, None, None, :], persistent=False)

    def forward(self, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = [member(spec) for member in self.members]
        probability = (torch.stack([torch.sigmoid(onset) for onset, _ in outputs]) * self.voices).sum(dim=0)
        velocity = (torch.stack([v for _, v in outputs]) * self.voices).sum(dim=0)
        return torch.logit(probability, eps=1e-6), velocity

    def config(self) -> list[dict[str, int]]:
        return [member.config() for member in self.members]


def load_network(saved: dict) -> HitNet | HitNetEnsemble:
    """The network a saved ``hitnet.pt`` holds: one HitNet (``config``, ``state_dict``) or an ensemble
    (``members``, each a ``config`` and ``state_dict``, and ``class_members`` when some classes are
    heard by some members only), in eval mode."""
    if "members" in saved:
        members = []
        for entry in saved["members"]:
            member = HitNet(**entry["config"])
            member.load_state_dict(entry["state_dict"])
            members.append(member)
        class_members = {int(c): list(ms) for c, ms in saved.get("class_members", {}).items()}
        network: HitNet | HitNetEnsemble = HitNetEnsemble(members, class_members)
    else:
        network = HitNet(**saved["config"])
        network.load_state_dict(saved["state_dict"])
    return network.eval()
