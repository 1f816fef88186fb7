"""Torch modules that compiled trees use beyond torch.nn.

This file must import nothing but torch: `render` pastes its source verbatim
into every exported model file, so the export stays standalone.
"""

import torch
from torch import nn


class Residual(nn.Module):
    """body(x) + skip(x); skip is nn.Identity or a projection when shapes differ."""

    def __init__(self, body, skip):
        super().__init__()
        self.body = body
        self.skip = skip

    def forward(self, x):
        return self.body(x) + self.skip(x)


class Parallel(nn.Module):
    """Run branches on the same input; merge by sum ("add") or concatenation ("concat")."""

    def __init__(self, branches, merge, dim):
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.merge = merge
        self.dim = dim

    def forward(self, x):
        outs = [branch(x) for branch in self.branches]
        if self.merge == "add":
            total = outs[0]
            for out in outs[1:]:
                total = total + out
            return total
        return torch.cat(outs, dim=self.dim)


class SepConv(nn.Module):
    """Depthwise convolution followed by a pointwise (1x1) convolution."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, dilation, padding, dims):
        super().__init__()
        conv = nn.Conv1d if dims == 1 else nn.Conv2d
        self.depthwise = conv(in_channels, in_channels, kernel_size, stride=stride,
                              padding=padding, dilation=dilation, groups=in_channels)
        self.pointwise = conv(in_channels, out_channels, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class SqueezeExcite(nn.Module):
    """Channel attention: scale each channel by a gate computed from its global mean."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        squeezed = x.flatten(2).mean(dim=2)
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(squeezed))))
        return x * gate.view(*gate.shape, *([1] * (x.dim() - 2)))


class SelfAttention(nn.Module):
    """Multi-head self-attention over the sequence axis.

    layout "seq": input (B, C, L), attends over L with embedding C.
    layout "tokens": input (B, T, D).
    """

    def __init__(self, dim, heads, layout):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.layout = layout

    def forward(self, x):
        tokens = x.transpose(1, 2) if self.layout == "seq" else x
        out, _ = self.attn(tokens, tokens, tokens, need_weights=False)
        return out.transpose(1, 2) if self.layout == "seq" else out


class GRULayer(nn.Module):
    """A GRU returning its full output sequence, in the layout it was given."""

    def __init__(self, input_size, hidden_size, layout):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True)
        self.layout = layout

    def forward(self, x):
        tokens = x.transpose(1, 2) if self.layout == "seq" else x
        out, _ = self.gru(tokens)
        return out.transpose(1, 2) if self.layout == "seq" else out


class GlobalAvgPool(nn.Module):
    """Average over the spatial axes (seq, image) or the token axis (tokens) -> (B, C)."""

    def __init__(self, layout):
        super().__init__()
        self.layout = layout

    def forward(self, x):
        if self.layout == "tokens":
            return x.mean(dim=1)
        return x.flatten(2).mean(dim=2)


class ToTokens(nn.Module):
    """(B, C, L) -> (B, L, C) and (B, C, H, W) -> (B, H*W, C)."""

    def forward(self, x):
        return x.flatten(2).transpose(1, 2)


class NB201Cell(nn.Module):
    """The NAS-Bench-201 cell: node j sums edge(i->j)(node i); node 3 is the output.

    `edges` are the six edge modules in the official order (1<-0, 2<-0, 2<-1,
    3<-0, 3<-1, 3<-2); None marks a "none" edge, which adds nothing.
    """

    def __init__(self, edges):
        super().__init__()
        self.present = [edge is not None for edge in edges]
        self.edges = nn.ModuleList([edge if edge is not None else nn.Identity() for edge in edges])

    def forward(self, x):
        nodes = [x]
        k = 0
        for j in range(1, 4):
            total = torch.zeros_like(x)
            for i in range(j):
                if self.present[k]:
                    total = total + self.edges[k](nodes[i])
                k += 1
            nodes.append(total)
        return nodes[3]
