"""Presence corpus, stage (merge, analysis tables, resume after a kill, --shard) and advisor.analyses.presence."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from sklearn.model_selection import KFold

from advisor.analyses import presence as ap
from advisor.predict import specs
from pipeline.errors import InputError
from pipeline.presence import corpus, stage
from pipeline.presence.config import CorpusConfig, PresenceConfig, parse_shard
from pipeline.presence.fixtures import build_corpus
from pipeline.presence.sequential import RuleConfig

ROOT = Path(__file__).resolve().parents[3]
HUB = {"source": "hub"}  # a presence.corpus that needs no files


def _corpus(files, **kw) -> CorpusConfig:
    return CorpusConfig(**{**dict(source="local", files=[str(f) for f in files], docs_per_subset=5, shard_docs=7),
                           **kw})


def _ensure(corpus_cfg, root):
    return corpus.ensure_corpus(corpus_cfg, 64, root, log=lambda m: None)  # N = 64 tokens


def test_corpus_sampling_is_deterministic_order_free_and_stable(tmp_path):
    src = build_corpus(tmp_path / "in", docs_per_subset=12)
    lines = src.read_text().splitlines()
    rev = tmp_path / "rev.jsonl"
    rev.write_text("\n".join(reversed(lines)) + "\n")
    a = _ensure(_corpus([src]), tmp_path / "a")
    b = _ensure(_corpus([rev]), tmp_path / "b")
    c = _ensure(_corpus([src], seed=1), tmp_path / "c")
    ids = lambda shards: pd.concat([pq.read_table(s).to_pandas() for s in shards])  # noqa: E731
    da, db_, dc = ids(a), ids(b), ids(c)
    assert len(a) == 4 and len(da) == 25 and da.doc_id.is_unique  # 5 subsets x 5, shards of 7
    assert list(da.doc_id) == list(db_.doc_id)  # same seed, any file order: same sample and order
    assert set(da.doc_id) != set(dc.doc_id)  # another seed: another sample
    assert set(da.subset) == set(CorpusConfig().subsets)  # CommonCrawl skipped
    row = da.iloc[0]
    assert row.doc_id == corpus.doc_id(row.subset, row.text)  # id = subset code + text hash
    # Parquet input in the same schema gives the same sample
    pq.write_table(pd.read_json(src, lines=True).pipe(lambda d: __import__("pyarrow").Table.from_pandas(d)),
                   tmp_path / "in.parquet")
    e = _ensure(_corpus([tmp_path / "in.parquet"]), tmp_path / "e")
    assert list(ids(e).doc_id) == list(da.doc_id)
    # rerun reuses the stored shards
    assert _ensure(_corpus([src]), tmp_path / "a") == a


def test_corpus_bad_record_names_file_row_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok", "meta": {"redpajama_set_name": "RedPajamaBook"}}\n{"text": "no meta"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl, row 2, field 'meta.redpajama_set_name'"):
        _ensure(_corpus([bad]), tmp_path / "o")
    with pytest.raises(InputError, match=r"field 'presence.scoring.normalise': 'mean' is not valid.*"
                                         r"Fix: presence.scoring.normalise should be 'scored' or 'N'"):
        _section(models=["m"], corpus=HUB, scoring={"normalise": "mean"})


def test_select_shards_and_parse(tmp_path, capsys):
    from pipeline import run

    assert parse_shard("1/3") == (1, 3) and parse_shard(None) == (0, 1)
    cfg = _config_file(tmp_path, models=["tiny:llama"])
    for bad in ("3/3", "x", "1/0"):
        with pytest.raises(InputError, match="use i/n with 0 <= i < n"):
            parse_shard(bad)
        # the flag is a typed override of presence.shard: refused before anything runs, naming the flag
        assert run.main(["--config", str(cfg), "--shard", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --shard, field 'presence.shard': bad shard {bad!r}. Fix: use i/n"), err
    jobs = [stage.select_shards(10, j, 3) for j in range(3)]
    assert sorted(sum(jobs, [])) == list(range(10)) and jobs[1] == [1, 4, 7]
    assert stage.select_shards(10, 1, 3, rank=1, world=2) == [4]


def _config_file(tmp_path, **presence):
    """A config of the presence stage on the fixture corpus; ``presence``: keys, or sections' keys to change."""
    sec = dict(models=["tiny:llama", "tiny:qwen2"], corpus=dict(source="fixture", docs_per_subset=8, shard_docs=10),
               scoring=dict(max_tokens=128), sequential=dict(bins=20))
    sec.update({k: {**sec[k], **v} if isinstance(sec.get(k), dict) else v for k, v in presence.items()})
    cfg = {"db": str(tmp_path / "db.duckdb"), "data_dir": str(ROOT / "data"), "work_dir": str(tmp_path / "work"),
           "stages": ["presence"], "presence": sec}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow  # builds two tiny models and runs the stage
def test_stage_end_to_end_tables(tmp_path):
    from pipeline import run

    cfg = _config_file(tmp_path)
    assert run.main(["--config", str(cfg)]) == 0
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    q = lambda sql: con.execute(sql).fetchdf()  # noqa: E731
    counts = q("SELECT model, subset, count(*) n FROM presence_scores GROUP BY ALL")
    assert len(counts) == 10 and (counts.n == 8).all()
    models = q("SELECT * FROM presence_models ORDER BY position")
    assert list(models.model) == ["tiny:llama", "tiny:qwen2"] and models.is_reference.tolist() == [True, False]
    assert (models.tokens_per_s > 0).all() and (models.compiled == "none").all()
    summ = q("SELECT * FROM presence_summary WHERE subset = 'all'")
    means = q("SELECT model, avg(score) m FROM presence_scores GROUP BY model").set_index("model").m
    assert np.allclose(summ.set_index("model")["mean"].loc[means.index], means)
    jsd = q("SELECT * FROM presence_jsd").pivot(index="model_a", columns="model_b", values="jsd")
    assert np.allclose(jsd.values, jsd.values.T) and np.all(np.diag(jsd.values) == 0) and jsd.values.max() > 0
    assert "presence_hist" not in set(q("SHOW TABLES").name)  # no page read it: not written
    reg = q("SELECT * FROM presence_regression")
    assert reg.status.tolist() == ["insufficient_data"] and "needs at least" in reg.note[0]
    fam = q("SELECT * FROM presence_family_map")
    assert set(fam.hf_id) >= {"tiny:llama", "meta-llama/Llama-3.1-8B-Instruct"}
    con.close()


@pytest.mark.slow  # kills and reruns a pipeline process
def test_resume_after_killed_run(tmp_path):
    cfg = _config_file(tmp_path, models=["tiny:llama"], corpus=dict(docs_per_subset=30, shard_docs=1))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.presence.stage", "--config", str(cfg)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = []
    while proc.poll() is None and len(found) < 3:  # the state the kill needs, however long it takes
        found = list((tmp_path / "work" / "presence" / "scores").glob("*/*/shard-*.parquet"))
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert found, "the run ended before it wrote a shard"
    out = found[0].parent
    done = {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*.parquet")}
    assert 3 <= len(done) < 150, "the run must be killed part-way"
    for p in out.glob("shard-*.parquet"):
        pq.read_table(p)  # every finished shard is complete (written to a temp name, then renamed)
    from pipeline import config as config_mod
    pc = config_mod.load(cfg)
    pres = pc.section("presence")
    stage.score_job(pres, tmp_path / "work" / "presence", log=lambda m: None)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*.parquet")}
    assert len(after) == 150 and all(after[k] == v for k, v in done.items())  # resumed, not redone
    ids = pd.concat([pq.read_table(p).to_pandas() for p in out.glob("shard-*.parquet")]).doc_id
    assert ids.is_unique and len(ids) == 150


@pytest.mark.slow  # builds a tiny model and runs the stage
def test_shard_option_scores_only_its_slice(tmp_path):
    cfg = _config_file(tmp_path, models=["tiny:qwen2"], corpus=dict(shard_docs=7))
    from pipeline import config as config_mod
    pc = config_mod.load(cfg)
    pres = pc.section("presence")
    stage.score_job(replace(pres, shard="1/2"), tmp_path / "work" / "presence", log=lambda m: None)
    got = sorted(p.name for p in (tmp_path / "work" / "presence" / "scores").glob("*/*/shard-*.parquet"))
    assert got == [f"shard-{i:05d}.parquet" for i in (1, 3, 5)]  # 40 docs in 6 shards, odd ones


@pytest.mark.slow  # runs the stage three times
def test_packed_run_matches_padded_run_and_a_dtype_change_is_refused(tmp_path):
    from pipeline import config as config_mod

    def job(name, **scoring):
        pc = config_mod.load(_config_file(tmp_path / name, models=["tiny:llama"], scoring=scoring))
        pres = pc.section("presence")
        stage.score_job(pres, tmp_path / "work", log=lambda m: None)
        return pres

    for name in ("padded", "packed"):
        (tmp_path / name).mkdir()
    pres = job("padded", dtype="float32")
    out = stage.scores_dir(tmp_path / "work", pres, "tiny:llama")
    padded = pd.concat([pq.read_table(p).to_pandas() for p in sorted(out.glob("shard-*.parquet"))])
    for p in out.glob("shard-*"):
        p.unlink()
    job("packed", dtype="float32", pack=True, row_tokens=256, compile="head")
    packed = pd.concat([pq.read_table(p).to_pandas() for p in sorted(out.glob("shard-*.parquet"))])
    assert list(packed.doc_id) == list(padded.doc_id)
    metas = [json.loads(p.read_text()) for p in sorted(out.glob("shard-*.json"))]
    assert {m["compiled"] for m in metas} == {"head"}
    assert np.allclose(packed.score, padded.score, atol=1e-4) and (packed.n_tokens == padded.n_tokens).all()
    # half the shards gone, then a rerun in another dtype: refused, nothing mixed or lost
    for p in sorted(out.glob("shard-*.parquet"))[::2]:
        p.unlink()
    kept = sorted(p.name for p in out.glob("shard-*.parquet"))
    with pytest.raises(InputError, match=r"scored in float32.*presence.scoring.dtype: float32"):
        job("packed", dtype="bfloat16")
    assert sorted(p.name for p in out.glob("shard-*.parquet")) == kept


def _section(**kw) -> PresenceConfig:
    from pipeline import config as config_mod

    return config_mod.section(PresenceConfig, {"presence": kw}, "presence", "c.yaml").check("c.yaml")


def test_presence_config_errors_name_the_field():
    with pytest.raises(InputError, match=r"field 'presence.scoring.compile': 'backbone' is not valid.*"
                                         r"should be a valid boolean or should be 'none', 'head' or 'all'"):
        _section(models=["m"], corpus=HUB, scoring={"compile": "backbone"})
    with pytest.raises(InputError, match="pass_attention_mask: false"):
        _section(models=["m"], corpus=HUB, scoring={"pack": True, "pass_attention_mask": True})
    with pytest.raises(InputError, match=r"field 'presence.scoring.row_tokens'.*greater than or equal to 1"):
        _section(models=["m"], corpus=HUB, scoring={"row_tokens": 0})
    with pytest.raises(InputError, match=r"field 'presence.analysis.regression_rm_sources.0': 'papers' is not valid.*"
                                         r"should be 'paper', 'pipeline' or 'user'"):
        _section(models=["m"], corpus=HUB, analysis={"regression_rm_sources": ["papers"]})
    with pytest.raises(InputError, match=r"presence.analysis.regression_rm_sources should have at least 1 item"):
        _section(models=["m"], corpus=HUB, analysis={"regression_rm_sources": []})
    with pytest.raises(InputError, match=r"field 'presence.models'.*presence does not use 'max_length'"):
        _section(models=[{"id": "m", "max_length": 5}], corpus=HUB)
    with pytest.raises(InputError, match=r"field 'presence.scoring.device': 'gpu' is not valid.*"
                                         r"should be 'auto', 'cpu' or 'cuda'"):
        _section(models=["m"], corpus=HUB, scoring={"device": "gpu"})
    with pytest.raises(InputError, match=r"field 'presence.sequential.tol_jsd': 0 is not valid.*greater than 0"):
        _section(models=["m"], corpus=HUB, sequential={"tol_jsd": 0})
    with pytest.raises(InputError, match="presence.models is empty"):
        _section(corpus=HUB)
    with pytest.raises(InputError, match="presence.corpus.source is 'local' but presence.corpus.files is empty"):
        _section(models=["m"])
    ok = _section(models=["m", "tiny:llama"], corpus=HUB, scoring={"compile": "head", "pack": True})
    assert [(m.id, m.tiny) for m in ok.models] == [("m", None), ("tiny:llama", "llama")]
    assert ok.sequential == RuleConfig() and ok.scoring.compile == "head"


def test_the_flat_keys_of_before_the_sections_are_refused_naming_their_place():
    """The presence section was flat (``tol_jsd:``, ``max_tokens:``, ``sequential: false``); an old key is
    refused with the key it is now."""
    for old, now in [("tol_jsd", "sequential.tol_jsd"), ("ci_alpha", "sequential.alpha"),
                     ("jsd_base", "sequential.base"), ("hist_tail", "sequential.tail"), ("bins", "sequential.bins"),
                     ("seed", "corpus.seed"), ("docs_per_subset", "corpus.docs_per_subset"),
                     ("max_tokens", "scoring.max_tokens"), ("compile", "scoring.compile"),
                     ("family_rule", "analysis.family_rule"),
                     ("regression_min_models", "analysis.regression_min_models")]:
        with pytest.raises(InputError, match=rf"c.yaml, field 'presence.{old}': unknown key '{old}' in section "
                                             rf"'presence'. Fix: it is presence.{now} now"):
            _section(models=["m"], corpus=HUB, **{old: 1})
    with pytest.raises(InputError, match=r"field 'presence.sequential': sequential: false is the old switch.*"
                                         r"sequential: \{max_rounds: 1\}"):
        _section(models=["m"], corpus=HUB, sequential=False)


PAPER = pd.read_csv(ROOT / "data" / "paper" / "models.csv")


def test_family_rule_on_paper_models():
    scored = ["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2-7B-Instruct", "google/gemma-7b-it", "LLM360/Crystal"]
    fm = ap.family_map(PAPER, scored).set_index("hf_id")
    assert fm.source_model["Qwen/Qwen2.5-0.5B-Instruct"] == "Qwen/Qwen2.5-7B-Instruct"  # 18T = 18T
    assert fm.source_model["Qwen/Qwen2-1.5B-Instruct"] == "Qwen/Qwen2-7B-Instruct"  # 7T = 7T
    assert pd.isna(fm.source_model["Qwen/Qwen2-0.5B-Instruct"])  # 12T != 7T
    assert fm.source_model["google/gemma-2b-it"] == "google/gemma-7b-it"
    assert pd.isna(fm.source_model["google/gemma-1.1-2b-it"])  # another family (Gemma-1.1)
    assert fm.source_model["LLM360/Crystal"] == "LLM360/Crystal" and fm.reason["LLM360/Crystal"] == "own scores"
    off = ap.family_map(PAPER, scored, rule=False).set_index("hf_id")
    assert off.source_model.notna().sum() == 4


def test_presence_features_and_summary():
    scores = pd.DataFrame({"model": ["a"] * 4 + ["b"] * 2, "subset": ["RedPajamaBook", "RedPajamaBook",
                           "RedPajamaGithub", "RedPajamaGithub", "RedPajamaBook", "RedPajamaGithub"],
                           "score": [-1.0, -3.0, -0.5, np.nan, -2.0, -4.0]})
    s = ap.subset_summary(scores).set_index(["model", "subset"])
    assert s.loc[("a", "RedPajamaBook"), "mean"] == -2.0 and s.loc[("a", "all"), "n_docs"] == 3
    fmap = pd.DataFrame({"hf_id": ["a", "b", "c", "d"], "source_model": ["a", "b", "a", None]})
    f = ap.presence_features(s.reset_index(), fmap)
    assert list(f.columns) == ["presence_book", "presence_github"] and list(f.index) == ["a", "b", "c"]
    assert f.loc["c"].tolist() == [-2.0, -0.5]


def test_regression_experiment_runs_the_paper_spec_through_evaluate():
    rng = np.random.default_rng(0)
    n = 30
    X = pd.DataFrame({"params_b": rng.uniform(0.5, 10, n), "leaderboard_ifeval": rng.uniform(10, 80, n)},
                     index=[f"m{i}" for i in range(n)])
    pres = pd.DataFrame({"presence_github": rng.normal(-1, 0.3, n)}, index=X.index)
    y = pd.Series(50 + 0.2 * X.leaderboard_ifeval + 30 * pres.presence_github + rng.normal(0, 0.5, n), index=X.index)
    groups = pd.Series([f"f{i % 5}" for i in range(n)], index=X.index)
    small = replace(specs.get("paper_enet"), degrees=(1,), alphas=(0.01, 0.001), l1_ratios=(0.5,))
    r = ap.regression_experiment(X, y, pres, groups=groups, spec=small, folds=5, cv=5, n_jobs=1)
    r = r.set_index(["cv", "features"])
    assert set(r.index) == {("nested", "base"), ("nested", "base+presence"), ("lofo", "base"),
                            ("lofo", "base+presence")}
    assert (r.status == "ok").all() and (r.n_models == n).all()
    assert r.loc[("nested", "base+presence"), "mae"] < 0.5 * r.loc[("nested", "base"), "mae"]
    # 'nested' is one repeat of 5-fold CV (KFold shuffled, seed 1) with the spec's own search in each training part
    err = []
    for tr, te in KFold(5, shuffle=True, random_state=1).split(X):
        fit = specs.fit_spec(replace(small, inputs=tuple(X.columns)), X.iloc[tr], y.iloc[tr], cv=5)[0]
        err += list(np.abs(fit.predict(X.iloc[te]) - y.iloc[te]))
    assert r.loc[("nested", "base"), "mae"] == pytest.approx(np.mean(err), rel=1e-12)
    few = ap.regression_experiment(X.iloc[:5], y, pres, min_models=12)
    assert few.status.tolist() == ["insufficient_data"] and "only 5 model(s)" in few.note[0]


@pytest.mark.slow  # three pipeline processes
def test_two_processes_score_slices_and_the_main_one_merges(tmp_path):
    """The path `accelerate launch` takes (WORLD_SIZE/RANK set by torch's launcher), two CPU processes."""
    cfg = _config_file(tmp_path, models=["tiny:llama"], corpus=dict(docs_per_subset=6, shard_docs=5),
                       scoring=dict(max_tokens=32))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "-m", "pipeline.run", "--config", str(cfg)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert "for job 0/1, process 0/2" in out and "for job 0/1, process 1/2" in out
    assert "process 1 done; the main process merges" in out and out.count("published") == 1
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT doc_id) FROM presence_scores").fetchone() == (30, 30)
    con.close()


def test_corpus_reads_slimpajama_zst_chunks(tmp_path):
    import zstandard

    src = build_corpus(tmp_path / "in", docs_per_subset=4)
    zst = tmp_path / "chunk_0.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(src.read_bytes()))
    a = _ensure(_corpus([src], docs_per_subset=3), tmp_path / "a")
    b = _ensure(_corpus([zst], docs_per_subset=3), tmp_path / "b")
    read = lambda shards: list(pd.concat([pq.read_table(s).to_pandas() for s in shards]).doc_id)  # noqa: E731
    assert read(a) == read(b) and len(read(a)) == 15


def test_hub_streaming_path_on_a_local_dataset_dir(tmp_path):
    """source: hub goes through datasets' streaming loader; a local directory stands in for the hub id."""
    build_corpus(tmp_path / "ds", docs_per_subset=6)
    cfg = CorpusConfig(source="hub", dataset=str(tmp_path / "ds"), docs_per_subset=4, shard_docs=50, stream_buffer=8)
    shards = _ensure(cfg, tmp_path / "out")
    df = pq.read_table(shards[0]).to_pandas()
    assert len(df) == 20 and df.doc_id.is_unique and (df.groupby("subset").size() == 4).all()
    again = corpus.sample_hub(cfg.dataset, "train", cfg.subsets, 4, cfg.seed, 8, 1000)
    assert {d for v in again.values() for _, d, _, _ in v} == set(df.doc_id)  # same seed, same sample


@pytest.mark.slow  # runs the stage twice
def test_a_normalise_change_rescales_finished_shards_instead_of_mixing_rules(tmp_path):
    from pipeline import run

    def scores(normalise):
        cfg = _config_file(tmp_path, models=["tiny:llama"], scoring=dict(normalise=normalise))
        assert run.main(["--config", str(cfg)]) == 0
        con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
        try:
            return con.execute("SELECT doc_id, n_tokens, score FROM presence_scores ORDER BY doc_id").fetchdf()
        finally:
            con.close()

    scored = scores("scored")
    shards = sorted((tmp_path / "work").rglob("shard-*.parquet"))
    stamps = [p.stat().st_mtime_ns for p in shards]
    per_n = scores("N")  # the same shards, not rescored: divided by N = max_tokens instead
    assert [p.stat().st_mtime_ns for p in sorted((tmp_path / "work").rglob("shard-*.parquet"))] == stamps
    sums = scored.score * scored.n_tokens
    assert np.allclose(per_n.score, sums / 128, equal_nan=True) and not np.allclose(per_n.score, scored.score)


# --- sequential scoring: rounds, resume inside a round, --shard across rounds ----------------------

ROUNDS = dict(models=["tiny:llama"], corpus=dict(docs_per_subset=30, shard_docs=2), scoring=dict(max_tokens=32),
              sequential=dict(bins=10, min_docs_per_subset=4, max_rounds=3, n_boot=20,
                              tol_mean=1e-6))  # tol_mean never met: runs to the cap


def _pres(tmp_path, **kw):
    from pipeline import config as config_mod
    pc = config_mod.load(_config_file(tmp_path, **{**ROUNDS, **kw}))
    return pc.section("presence")


def _state(tmp_path, pres):
    rounds = stage.Rounds(pres, tmp_path / "work" / "presence", 75)
    out = stage.scores_dir(tmp_path / "work" / "presence", pres, "tiny:llama")
    return rounds, out, {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*.parquet")}


@pytest.mark.slow  # runs the stage's rounds
def test_rounds_grow_a_stratified_prefix_and_are_recorded(tmp_path):
    pres = _pres(tmp_path)
    paths, _ = stage.score_job(pres, tmp_path / "work" / "presence", log=lambda m: None)
    rounds, out, done = _state(tmp_path, pres)
    recs = rounds.records()
    # 4 docs x 5 subsets = 10 shards of 2; then x4 (width ratio far above 1); round 2 = the last look: all 75
    assert [r["n_shards"] for r in recs] == [10, 40, 75] and [r["stop"] for r in recs] == [False, False, True]
    assert recs[-1]["reason"].startswith("cap") and len(done) == 75
    first = pd.concat([pq.read_table(p).to_pandas() for p in paths[:10]])
    assert first.subset.value_counts().tolist() == [4] * 5  # a round's prefix holds every subset equally


@pytest.mark.slow  # runs the stage's rounds twice
def test_resume_in_the_middle_of_a_round(tmp_path):
    """Killed while round 1 was being scored: the rerun keeps round 0's record and every finished shard."""
    cfg = _config_file(tmp_path, **ROUNDS)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.presence.stage", "--config", str(cfg)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pres = _pres(tmp_path)
    rounds, out, _ = _state(tmp_path, pres)
    while proc.poll() is None and not (rounds.read(0) and len(list(out.glob("shard-*.parquet"))) >= 13):
        time.sleep(0.005)  # no deadline: the state the kill needs, however long a loaded machine takes
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, _, done = _state(tmp_path, pres)
    assert rounds.read(0) is not None and rounds.read(1) is None, "the run must be killed inside round 1"
    assert 13 <= len(done) < 40
    rec0 = rounds.path(0).stat().st_mtime_ns
    stage.score_job(pres, tmp_path / "work" / "presence", log=lambda m: None)
    _, _, after = _state(tmp_path, pres)
    assert len(after) == 75 and all(after[k] == v for k, v in done.items())  # resumed, nothing redone
    assert rounds.path(0).stat().st_mtime_ns == rec0 and [r["n_shards"] for r in rounds.records()] == [10, 40, 75]
    # the same decisions as an uninterrupted run (the bootstrap is seeded by the config and the round)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    p2 = _pres(fresh)
    stage.score_job(p2, fresh / "work" / "presence", log=lambda m: None)
    r2 = stage.Rounds(p2, fresh / "work" / "presence", 75).records()
    assert [r["ratio"] for r in r2] == pytest.approx([r["ratio"] for r in rounds.records()])


@pytest.mark.slow  # runs shard jobs through the rounds
def test_shard_jobs_advance_the_rounds_together(tmp_path):
    """--shard 0/2 and 1/2 run one after the other (no waiting): each scores only its slice of each
    round; whichever finds a round complete records it and goes on; the result equals one job's."""
    pres = _pres(tmp_path)
    root = tmp_path / "work" / "presence"
    rounds, out, _ = _state(tmp_path, pres)
    names = lambda: sorted(int(p.stem.split("-")[1]) for p in out.glob("shard-*.parquet"))  # noqa: E731
    stage.score_job(replace(pres, shard="0/2"), root, log=lambda m: None)
    assert names() == list(range(0, 10, 2)) and rounds.read(0) is None  # round 0 waits for job 1
    stage.score_job(replace(pres, shard="1/2"), root, log=lambda m: None)
    assert names() == list(range(10)) + list(range(11, 40, 2)) and rounds.read(0) and rounds.read(1) is None
    stage.score_job(replace(pres, shard="0/2"), root, log=lambda m: None)  # finishes round 1, records it, slice of 2
    assert rounds.read(1) and names() == list(range(40)) + list(range(40, 75, 2))
    stage.score_job(replace(pres, shard="1/2"), root, log=lambda m: None)
    recs = rounds.records()
    assert names() == list(range(75)) and [r["n_shards"] for r in recs] == [10, 40, 75] and recs[-1]["stop"]
    one = tmp_path / "one"
    one.mkdir()
    p1 = _pres(one)
    stage.score_job(p1, one / "work" / "presence", log=lambda m: None)
    assert [r["ratio"] for r in stage.Rounds(p1, one / "work" / "presence", 75).records()] == pytest.approx(
        [r["ratio"] for r in recs])


@pytest.mark.slow  # scores the smoke corpus twice
def test_smoke_models_stop_early_and_agree_with_scoring_everything(tmp_path):
    """The two tiny models through the stage with the rule, then every document scored: the JSD and the
    features at the stop are within the tolerance of the full corpus's. The tiny corpus cannot reach the
    default tolerances (bench/bench_presence_sequential.py reports that case), so they are 15x here (25x for
    a histogram bin, whose width with 20 documents per subset and round cannot shrink faster)."""
    from pipeline import run

    k = 15
    cfg = _config_file(tmp_path, corpus=dict(docs_per_subset=80, shard_docs=10), scoring=dict(max_tokens=32),
                       sequential=dict(bins=20, min_docs_per_subset=8, tol_jsd=0.01 * k, tol_mean=0.02 * k,
                                       tol_hist=0.25, n_boot=100))
    assert run.main(["--config", str(cfg)]) == 0
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    rounds = con.execute("SELECT * FROM presence_rounds ORDER BY round, model").fetchdf()
    n_stop = int(rounds.n_documents.max())
    assert rounds.stopped.iloc[-1] and rounds.reason.iloc[-1] == "tolerance met" and n_stop < 400
    assert con.execute("SELECT count(DISTINCT doc_id) FROM presence_scores").fetchone()[0] == n_stop
    jsd = con.execute("SELECT * FROM presence_jsd WHERE model_a < model_b").fetchdf()
    assert (jsd.lo <= jsd.jsd).all() and (jsd.jsd <= jsd.hi).all() and (jsd.n_documents == n_stop).all()
    summ = con.execute("SELECT * FROM presence_summary WHERE subset != 'all'").fetchdf()
    assert (summ.mean_lo < summ["mean"]).all() and (summ["mean"] < summ.mean_hi).all()
    con.close()
    # everything scored (one round, sequential.max_rounds: 1, reuses the finished shards and scores the rest)
    full = tmp_path / "full"
    full.mkdir()
    raw = yaml.safe_load(cfg.read_text())
    raw["presence"]["sequential"]["max_rounds"] = 1
    raw["db"] = str(full / "db.duckdb")
    (full / "cfg.yaml").write_text(yaml.safe_dump(raw))
    assert run.main(["--config", str(full / "cfg.yaml")]) == 0
    con = duckdb.connect(str(full / "db.duckdb"), read_only=True)
    assert con.execute("SELECT count(DISTINCT doc_id) FROM presence_scores").fetchone()[0] == 400
    jsd_full = con.execute("SELECT * FROM presence_jsd WHERE model_a < model_b").fetchdf()
    summ_full = con.execute("SELECT * FROM presence_summary WHERE subset != 'all'").fetchdf()
    con.close()
    assert abs(float(jsd.jsd.iloc[0]) - float(jsd_full.jsd.iloc[0])) <= 0.01 * k
    both = summ.merge(summ_full, on=["model", "subset"], suffixes=("", "_full"))
    assert len(both) == 10 and ((both["mean"] - both.mean_full).abs() <= 0.02 * k).all()
    assert (both.n_docs < both.n_docs_full).all()
