"""Annealing schedules computed from the update count alone (so they resume
exactly from a checkpoint, which stores the update count)."""
import math


def linear_schedule(num_updates: int, start: float, end: float, duration: int) -> float:
    """start + (end - start) * min(1, t / duration); paper Sec. 3.2 (KL weight 0.01 -> 1)."""
    if duration <= 0:
        return end
    frac = min(1.0, max(0, num_updates) / duration)
    return start + (end - start) * frac


def cyclical_schedule(num_updates: int, start: float, end: float, period: int, ramp_fraction: float) -> float:
    """Cyclical annealing (Fu et al., NAACL 2019; later work, not in Yang et al.):
    in each period of ``period`` updates, rise linearly from ``start`` to ``end``
    over the first ``ramp_fraction`` of it, then stay at ``end``."""
    if period <= 0:
        return end
    phase = (max(0, num_updates) % period) / period
    if ramp_fraction <= 0:
        return end
    return start + (end - start) * min(1.0, phase / ramp_fraction)


def exponential_decay(num_updates: int, start: float, minimum: float, rate: float) -> float:
    """max(minimum, start * exp(-rate * t)): the Gumbel-softmax temperature schedule
    of Jang et al. (2016), used by the semi-supervised VAE (paper Sec. 2.4)."""
    return max(minimum, start * math.exp(-rate * max(0, num_updates)))
