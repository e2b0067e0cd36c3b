"""HitNet and the ensemble of HitNets: shapes, averaging, and loading either from a saved file."""

from __future__ import annotations

import pytest
import torch

from groovesheet_worker.hitnet.network import HitNet, HitNetEnsemble, load_network


def _net(seed: int) -> HitNet:
    torch.manual_seed(seed)
    return HitNet(n_bands=81, n_classes=12, width=16).eval()


def test_the_ensemble_averages_its_members_probabilities_and_velocities() -> None:
    a, b = _net(0), _net(1)
    spec = torch.rand(1, 50, 81)
    with torch.no_grad():
        (onset_a, vel_a), (onset_b, vel_b) = a(spec), b(spec)
        onset, vel = HitNetEnsemble([a, b]).eval()(spec)
    expected = (torch.sigmoid(onset_a) + torch.sigmoid(onset_b)) / 2
    assert onset.shape == (1, 50, 12)
    torch.testing.assert_close(torch.sigmoid(onset), expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(vel, (vel_a + vel_b) / 2)


def test_a_saved_network_or_ensemble_loads_as_it_was() -> None:
    a, b = _net(2), _net(3)
    spec = torch.rand(1, 30, 81)
    single = {"config": a.config(), "state_dict": a.state_dict()}
    joined = {"members": [{"config": m.config(), "state_dict": m.state_dict()} for m in (a, b)]}
    with torch.no_grad():
        torch.testing.assert_close(load_network(single)(spec)[0], a(spec)[0])
        loaded = load_network(joined)
        assert isinstance(loaded, HitNetEnsemble) and not loaded.training
        torch.testing.assert_close(loaded(spec)[0], HitNetEnsemble([a, b]).eval()(spec)[0])


def test_an_empty_ensemble_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        HitNetEnsemble([])
