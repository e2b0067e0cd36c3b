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


def test_a_class_given_to_some_members_is_heard_by_them_alone() -> None:
    a, b, c = _net(4), _net(5), _net(6)
    spec = torch.rand(1, 40, 81)
    with torch.no_grad():
        outputs = [net(spec) for net in (a, b, c)]
        onset, vel = HitNetEnsemble([a, b, c], {3: [0], 7: [1, 2]}).eval()(spec)
    prob = [torch.sigmoid(o) for o, _ in outputs]
    vels = [v for _, v in outputs]
    torch.testing.assert_close(torch.sigmoid(onset[..., 3]), prob[0][..., 3], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(vel[..., 3], vels[0][..., 3])
    torch.testing.assert_close(
        torch.sigmoid(onset[..., 7]), (prob[1][..., 7] + prob[2][..., 7]) / 2, atol=1e-5, rtol=1e-4
    )
    torch.testing.assert_close(vel[..., 7], (vels[1][..., 7] + vels[2][..., 7]) / 2)
    # Every other class is still the average of all three.
    torch.testing.assert_close(
        torch.sigmoid(onset[..., 0]), sum(p[..., 0] for p in prob) / 3, atol=1e-5, rtol=1e-4
    )


def test_an_ensemble_keeps_which_members_hear_each_class_when_saved() -> None:
    a, b = _net(7), _net(8)
    spec = torch.rand(1, 30, 81)
    joined = {
        "members": [{"config": m.config(), "state_dict": m.state_dict()} for m in (a, b)],
        "class_members": {5: [1]},
    }
    with torch.no_grad():
        loaded = load_network(joined)
        assert loaded.class_members == {5: [1]}
        torch.testing.assert_close(loaded(spec)[0][..., 5], b(spec)[0][..., 5], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("class_members", [{3: []}, {3: [2]}, {12: [0]}])
def test_a_class_given_to_no_member_or_to_a_member_that_is_not_there_is_refused(class_members) -> None:
    with pytest.raises(ValueError, match="not among"):
        HitNetEnsemble([_net(0), _net(1)], class_members)


def test_an_empty_ensemble_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        HitNetEnsemble([])
