"""Groovesheet's own drum-hit model: frame-level, 12 classes plus velocity (see models/hitnet/MODEL_CARD.md).

``spectrogram`` turns audio into the model's input, ``network`` is the network, ``peaks`` turns its
frame activations into hits; ``finder.NetHitFinder`` is what the transcriber calls. The training code
(top-level ``training/``) imports the same ``spectrogram`` and ``network`` so training and inference
can never prepare audio differently.
"""
