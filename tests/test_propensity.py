"""Propensity estimation (EM, intervention harvesting), the click report and the weak logger (gbm_objectives.clicks)."""

import warnings

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.datasets import simulate_clicks


@pytest.fixture(scope="module")
def pbm_logs():
    rng = np.random.default_rng(0)
    sizes = rng.integers(6, 10, 400)
    y = rng.integers(0, 3, sizes.sum()).astype(float)
    X = np.c_[y + rng.normal(scale=0.3, size=len(y)), rng.normal(size=(len(y), 2))]
    return y, sizes, X


@pytest.mark.parametrize("method, sessions", [("harvest", 10), ("em", 10), ("em", 3)])
def test_propensities_within_ten_percent_under_randomised_logging(method, sessions, pbm_logs):
    """PBM theta_p = 1/(p+1), uniform logging: estimates within 10 % at positions 1-5 (the EM with a latent
    relevance per pair too at 3 sessions per query, where a free relevance per pair was biased by its few
    impressions), and the bootstrap interval covers the truth."""
    y, sizes, _ = pbm_logs
    log = simulate_clicks(y, group=sizes, sessions=sessions, policy="uniform", seed=1)
    est = go.estimate_propensity(log.clicks, log.position, log.query, log.row, session=log.session, method=method,
                                 n_positions=6, n_bootstrap=20 if method == "harvest" else 0)
    truth = 1.0 / (np.arange(6) + 1.0)
    assert est.propensity[0] == 1.0 and est.identified.all()
    np.testing.assert_allclose(est.propensity[1:], truth[1:], rtol=0.10)
    if est.lower is not None:
        assert (est.lower[1:] <= truth[1:]).all() and (truth[1:] <= est.upper[1:]).all()


def test_em_follows_a_logger_that_places_relevant_documents_high(pbm_logs):
    """Plackett-Luce on scores that know the labels: relevance and position are dependent; the EM's prior per
    stratum of mean position keeps the estimates unbiased (40 sessions per query: at 10, one log's noise alone is
    about 10 % at the deepest positions, for an estimator that knew the true relevance too)."""
    y, sizes, X = pbm_logs
    log = simulate_clicks(y, group=sizes, sessions=40, policy="plackett_luce", ranking_score=2.0 * X[:, 0], seed=4)
    truth = 1.0 / (np.arange(6) + 1.0)
    est = go.estimate_propensity(log.clicks, log.position, log.query, log.row, method="em", n_positions=6,
                                 n_bootstrap=0)
    np.testing.assert_allclose(est.propensity[1:], truth[1:], rtol=0.10)


def test_em_bootstrap_intervals_bracket_the_estimate(pbm_logs):
    y, sizes, _ = pbm_logs
    log = simulate_clicks(y[:int(sizes[:40].sum())], group=sizes[:40], sessions=10, policy="uniform", seed=5)
    est = go.estimate_propensity(log.clicks, log.position, log.query, log.row, session=log.session, method="em",
                                 n_positions=4, n_bootstrap=5)
    assert (est.lower <= est.propensity).all() and (est.propensity <= est.upper).all()
    assert (est.upper[1:] > est.lower[1:]).all()


def test_harvest_is_exact_on_expected_click_rates(rng):
    """The AllPairs extremum estimator on noise-free data (every click count its expectation theta_p gamma_d n)
    returns theta exactly, a non-monotone theta too (position 1 examined more than position 0)."""
    from gbm_objectives.clicks import _harvest

    theta = np.array([0.9, 1.0, 0.5, 0.6, 0.2])
    n_docs = 30
    gamma = rng.uniform(0.05, 0.95, n_docs)
    shown = rng.random((n_docs, 5)) < 0.7  # each document shown at a random subset of the positions
    idx_qd, idx_p = np.nonzero(shown)
    n_imp = rng.integers(1, 5, len(idx_qd)).astype(float)
    n_clk = n_imp * theta[idx_p] * gamma[idx_qd]
    est, identified = _harvest(idx_qd, idx_p, n_imp, n_clk, 5)
    assert identified.all()
    np.testing.assert_allclose(est, theta / theta[0], rtol=1e-6)


@pytest.mark.parametrize("method", ["harvest", "em"])
def test_a_pair_with_copies_is_that_many_pairs(rng, method):
    """The bootstrap's draw weights: a pair of weight 2 is exactly two pairs with its counts (a query drawn twice is
    two queries), not one pair with doubled counts (which leaves harvest's click rates and the EM's single latent
    relevance unchanged). Checked against the log with the copies written out as new pair ids."""
    from gbm_objectives.clicks import _dense, _em_latent, _harvest

    n_pairs, n_pos = 40, 5
    shown = rng.random((n_pairs, n_pos)) < 0.6
    idx_qd, idx_p = np.nonzero(shown)
    n_imp = rng.integers(1, 6, len(idx_qd)).astype(float)
    n_clk = rng.binomial(n_imp.astype(int), 0.8 ** idx_p * 0.5).astype(float)
    copies = rng.integers(1, 4, n_pairs).astype(float)  # 1 to 3 copies of every pair
    rep = np.repeat(np.arange(n_pairs), copies.astype(int))  # the written-out log: pair ids 0..len(rep)-1
    rows = [(k, j) for k, old in enumerate(rep) for j in np.flatnonzero(idx_qd == old)]
    ex_qd = np.array([k for k, _ in rows])
    ex_p, ex_imp, ex_clk = idx_p[[j for _, j in rows]], n_imp[[j for _, j in rows]], n_clk[[j for _, j in rows]]
    if method == "harvest":
        weighted = _harvest(idx_qd, idx_p, n_imp, n_clk, n_pos, copies)[0]
        written = _harvest(ex_qd, ex_p, ex_imp, ex_clk, n_pos)[0]
        plain = _harvest(idx_qd, idx_p, n_imp, n_clk, n_pos)[0]
    else:
        stratum = np.zeros(n_pairs, dtype=np.int64)
        imp, clicked = _dense(idx_qd, idx_p, n_imp, n_clk, n_pairs, n_pos)
        weighted = _em_latent(imp, clicked, stratum, 1, 500, 1e-12, copies)
        plain = _em_latent(imp, clicked, stratum, 1, 500, 1e-12)
        imp, clicked = _dense(ex_qd, ex_p, ex_imp, ex_clk, len(rep), n_pos)
        written = _em_latent(imp, clicked, np.zeros(len(rep), dtype=np.int64), 1, 500, 1e-12)
    np.testing.assert_allclose(weighted, written, rtol=1e-6)
    assert np.max(np.abs(weighted - plain)) > 1e-3  # the copies matter: the test can tell them from weight 1


@pytest.mark.slow
def test_regression_em_runs_through_train(pbm_logs):
    y, sizes, X = pbm_logs
    n = int(sizes[:50].sum())
    log = simulate_clicks(y[:n], group=sizes[:50], sessions=5, policy="uniform", seed=2)
    est = go.estimate_propensity(log.clicks, log.position, log.query, log.row, method="em", X=X[:n][log.row],
                                 n_positions=4, em_iterations=1, em_rounds=3)
    assert est.lower is None and (np.diff(est.propensity) < 0).all()


def test_deterministic_single_session_log_is_flagged(pbm_logs):
    y, sizes, _ = pbm_logs
    log = simulate_clicks(y, group=sizes, sessions=1, seed=3)
    with pytest.warns(UserWarning, match="not identifiable"):
        report = go.click_report(log.clicks, log.position, log.query, log.row, session=log.session)
    assert not report.identifiable and report.multi_position_share == 0.0 and "WARNING" in str(report)
    with pytest.warns(UserWarning, match="not identifiable"):
        go.estimate_propensity(log.clicks, log.position, log.query, log.row, method="harvest", n_bootstrap=0)
    randomised = simulate_clicks(y, group=sizes, sessions=3, policy="uniform", seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = go.click_report(randomised.clicks, randomised.position, randomised.query, randomised.row,
                                 session=randomised.session)
    assert report.identifiable and (report.sessions_per_query == 3).all()
    assert report.clicks.sum() == randomised.clicks.sum() and report.impressions.sum() == len(randomised)


@pytest.mark.parametrize("call, match", [
    (lambda: go.click_report([1, 0], None, [1, 1], session=[0, 0]), r"position= is required"),
    (lambda: go.estimate_propensity([1, 0], None, [1, 1], [1, 2], session=[0, 0]), r"position= is required"),
    (lambda: go.estimate_propensity([1, 0], [0, 1], [1], [1, 2]), r"qid must be 1-D with one entry per click"),
    (lambda: go.estimate_propensity([1, 2], [0, 1], [1, 1], [1, 2]), r"clicks must be 0 or 1; got 2 at index 1"),
    (lambda: go.estimate_propensity([1, 0], [0, 1], [1, 1], [1, 2], method="mle"), r"method must be one of"),
    (lambda: go.estimate_propensity([1, 0], [0, 1], [1, 1], [1, 2], n_bootstrap=-1), r"n_bootstrap"),
    (lambda: go.estimate_propensity([1, 0], [0, 1], [1, 1], [1, 2], method="harvest", X=np.ones((2, 1))),
     r"X= is the feature matrix of the regression EM"),
])
def test_bad_input(call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises((ValueError, TypeError), match=match):
            call()


def test_weak_logger_scores_every_row():
    X, y, qid = go.datasets.make_ranking(n_queries=40, docs_per_query=(5, 8), n_features=4, seed=0)
    s = go.weak_logger(X, y, qid=qid, share=0.1, num_boost_round=5)
    assert s.shape == (len(y),) and np.isfinite(s).all()
    with pytest.raises(ValueError, match="share"):
        go.weak_logger(X, y, qid=qid, share=0.0)
