import pytest
from torch import nn

from deq.core.modes import eval_mode


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_restores_the_previous_mode_also_on_error(training):
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).train(training)
    with eval_mode(net) as inside:
        assert inside is net and not any(m.training for m in net.modules())
    assert all(m.training == training for m in net.modules())
    with pytest.raises(RuntimeError), eval_mode(net):
        raise RuntimeError("inside")
    assert all(m.training == training for m in net.modules())
