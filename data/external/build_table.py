"""Rebuild data/external/external_rm_groups.csv from the draft reading and the RewardBench leaderboard.

    .venv/bin/python data/external/build_table.py [data/external/external_rm_groups_draft.csv]

Every kept row's base is resolved below to a Hugging Face id with the source that states it (see
data/SOURCES.md, "external_rm_groups.csv"); every score and section score is copied from
data/public/rewardbench_v1_v2_leaderboard_eee.csv (0-1, as published), never from the draft. Rows whose
base could not be verified are dropped and listed in data/external/dropped.csv with the reason.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
LEADERBOARD = HERE.parent / "public" / "rewardbench_v1_v2_leaderboard_eee.csv"
VERSIONS = {"RewardBench": "v1", "RewardBench 2": "v2"}
SECTIONS = {"Chat": "chat", "Chat Hard": "chat_hard", "Safety": "safety", "Reasoning": "reasoning",
            "Factuality": "factuality", "Precise IF": "precise_if", "Math": "math", "Focus": "focus", "Ties": "ties"}

HALOS = "github:ContextualAI/HALOs config/model/{}.yaml @ d49576f6 (name_or_path) + model_cards/{}_sft+{}/README.md"
ARCHANGEL_BASES = {"llama7b": "huggyllama/llama-7b", "llama13b": "huggyllama/llama-13b",
                   "llama30b": "huggyllama/llama-30b", "pythia1-4b": "EleutherAI/pythia-1.4b",
                   "pythia2-8b": "EleutherAI/pythia-2.8b", "pythia6-9b": "EleutherAI/pythia-6.9b",
                   "pythia12-0b": "EleutherAI/pythia-12b"}
RB2_CARD = "https://huggingface.co/allenai/{} (model card: base_model / 'Finetuned from model')"
RB2_RELEASED = {"Llama-3.1-8B-Base-RM-RB2": "meta-llama/Llama-3.1-8B",
                "Llama-3.1-8B-Instruct-RM-RB2": "meta-llama/Llama-3.1-8B-Instruct",
                "Llama-3.1-70B-Instruct-RM-RB2": "meta-llama/Llama-3.1-70B-Instruct",
                "Llama-3.1-Tulu-3-70B-SFT-RM-RB2": "allenai/Llama-3.1-Tulu-3-70B-SFT",
                "Llama-3.1-Tulu-3-8B-SFT-RM-RB2": "allenai/Llama-3.1-Tulu-3-8B-SFT",
                "Llama-3.1-Tulu-3-8B-DPO-RM-RB2": "allenai/Llama-3.1-Tulu-3-8B-DPO",
                # Tulu 3 8B after RL (RLVR) is the final release, allenai/Llama-3.1-Tulu-3-8B (paper Table 1)
                "Llama-3.1-Tulu-3-8B-RL-RM-RB2": "allenai/Llama-3.1-Tulu-3-8B"}
# card text read for: 8B-Base, 8B-Instruct, 70B-Instruct (base_model field), Tulu-3-70B-SFT ('Finetuned from
# model'); the other three: the card's "one of 7 sets ... the best model we obtained for that base model" and
# the base named in the RM's own id.
RB2_CARD_SEEN = {"Llama-3.1-8B-Base-RM-RB2", "Llama-3.1-8B-Instruct-RM-RB2", "Llama-3.1-70B-Instruct-RM-RB2",
                 "Llama-3.1-Tulu-3-70B-SFT-RM-RB2"}
# open-instruct sweep: the run name's base tag -> the released set whose card names that base
SWEEP_TAGS = {"llama": "Llama-3.1-8B-Instruct-RM-RB2", "llamabase": "Llama-3.1-8B-Base-RM-RB2",
              "llama70b": "Llama-3.1-70B-Instruct-RM-RB2", "tulu3_70b": "Llama-3.1-Tulu-3-70B-SFT-RM-RB2",
              "dpo": "Llama-3.1-Tulu-3-8B-DPO-RM-RB2", "rl": "Llama-3.1-Tulu-3-8B-RL-RM-RB2"}
# Llama-3.1-Tulu-3-8B-SFT-RM-RB2 card, revision table (training data, lr, epochs, RB2 score): the runs
# without a base tag are kept only where one of these rows matches their data, lr, epochs and score.
SFT_REVISIONS = [("skyworkstulufull", 3e-6, 2, 68.2), ("skyworkstulufull", 3e-6, 1, 67.9),
                 ("skyworkstulufull", 3e-6, 1, 67.7), ("skyworks", 3e-6, 2, 66.7),
                 ("skyworkstulufull", 3e-6, 1, 66.1), ("skyworks", 3e-6, 3, 66.1), ("skyworks", 3e-6, 1, 65.6),
                 ("tulu", 3e-6, 2, 63.5), ("tulu", 3e-6, 3, 61.9), ("tulu", 3e-6, 1, 61.2), ("tulu", 1e-6, 2, 60.1),
                 ("tulu", 3e-6, 1, 60.0), ("tulu", 1e-6, 3, 60.0), ("tulu", 3e-6, 1, 60.0), ("tulu", 3e-6, 1, 59.3),
                 ("tulu", 3e-6, 1, 59.1)]
# The RewardBench 2 paper names the Qwen bases of the sweep. Read in github:allenai/reward-bench paper-v2.pdf @
# 05a9005 (text by pdftotext): App. B "We also experimented with models of similar sizes and capabilities, including
# Llama 3.1 8B Instruct [4] and Qwen 2.5 7B Instruct [56]"; App. H "with "Tulu" as a base model referring to Tulu 3
# 8B SFT, and "Qwen" referring to Qwen 2.5 7B Instruct"; App. C "We augment these results by training reward models
# on Llama 8B Base and Qwen 7B Base (with a hyperparameter sweep) with the combined preference mix and present
# results in Table 5", Table 5 "Impact of base model's post-training stage on reward model performance, grouped by
# model family" (rows "Qwen 7B Base", "Qwen 7B Instruct"). The paper writes "Qwen 7B Base", never "Qwen 2.5 7B"
# for it: read as Qwen2.5-7B because Table 5 groups it by family with Qwen 7B Instruct (= Qwen 2.5 7B Instruct).
RB2_PDF = "github:allenai/reward-bench paper-v2.pdf @ 05a9005"
QWEN = {"qwen": ("Qwen/Qwen2.5-7B-Instruct", "App. B (base models: 'Qwen 2.5 7B Instruct') and App. H ('“Qwen” "
                 "referring to Qwen 2.5 7B Instruct')"),
        "qwenbase": ("Qwen/Qwen2.5-7B", "App. C ('Qwen 7B Base (with a hyperparameter sweep) with the combined "
                     "preference mix') and Table 5 ('grouped by model family': 'Qwen 7B Base' beside 'Qwen 7B "
                     "Instruct', the paper's Qwen 2.5 7B Instruct: the paper writes 'Qwen 7B Base', read as that "
                     "family's base)")}
# Leaderboard columns in the order the paper prints them. Table 7's header reads "Avg Chat Factuality Math IF Safety
# Ties", but its numbers follow T7 (its "Qwen, Tulu, 3e-6", 2-epoch row is Table 4's "Qwen 7B Instruct / Tulu" row
# with Safety and Focus swapped, and the leaderboard agrees with Table 4).
T4 = ("Score", "Factuality", "Precise IF", "Math", "Safety", "Focus", "Ties")
T7 = ("Score", "Factuality", "Precise IF", "Math", "Focus", "Safety", "Ties")
# (tag of the base the row names, where, columns, numbers as printed): the paper's table rows with a Qwen base
PAPER_QWEN_ROWS = [
    ("qwen", "Table 4 'Qwen 7B Instruct / Tulu' (= Table 7 'Qwen, Tulu, 3e-6', 2 epochs)", T4,
     (63.7, 69.1, 31.9, 64.5, 78.4, 76.0, 62.4)),
    ("qwen", "Table 7 'Qwen, Tulu, 3e-6', 3 epochs", T7, (62.2, 66.7, 32.5, 61.2, 74.5, 79.8, 58.5)),
    ("qwen", "Table 4 'Qwen 7B Instruct / Skywork'", T4, (64.5, 60.6, 31.9, 71.6, 83.6, 83.4, 56.0)),
    ("qwen", "Tables 4 and 5 'Qwen 7B Instruct' (Both)", T4, (73.3, 74.7, 44.4, 71.6, 79.8, 81.4, 87.6)),
    ("qwenbase", "Table 5 'Qwen 7B Base'", T4, (68.2, 69.9, 36.2, 68.3, 83.1, 80.8, 71.1)),
]
RLHFLOW = {"weqweasdas/RM-Gemma-2B": ("google/gemma-2b-it", ("https://huggingface.co/weqweasdas/RM-Gemma-2B "
                                      "(card, commit 7746149: 'trained from the base model google/gemma-2b-it')")),
           "weqweasdas/RM-Mistral-7B": ("mistralai/Mistral-7B-Instruct-v0.2", ("https://huggingface.co/weqweasdas/"
                                        "RM-Mistral-7B (card, commit 5519e53: 'trained from the base model "
                                        "mistralai/Mistral-7B-Instruct-v0.2')")),
           "weqweasdas/RM-Gemma-7B": ("google/gemma-7b-it", ("https://huggingface.co/weqweasdas/RM-Mistral-7B "
                                      "commit 5519e53 (the card text it replaced, copied from RM-Gemma-7B: 'trained "
                                      "from the base model google/gemma-7b-it'); RM-Gemma-2B card links it as 'the "
                                      "7B version'"))}
INTERNLM = {"internlm/internlm2-1_8b-reward": "internlm/internlm2-chat-1_8b-sft",
            "internlm/internlm2-7b-reward": "internlm/internlm2-chat-7b-sft",
            "internlm/internlm2-20b-reward": "internlm/internlm2-chat-20b-sft"}


def _paper_qwen_row(pub) -> tuple[str, str] | None:
    """(tag, where) of the paper's Qwen table row whose 7 printed numbers equal this run's published scores."""
    for tag, where, cols, values in PAPER_QWEN_ROWS:
        if all(abs(100 * pub[c] - v) < 0.051 for c, v in zip(cols, values)):
            return tag, where
    return None


def _qwen(tag: str, pub):
    """(base, source, verification) for a Qwen-tagged sweep run, or (None, reason)."""
    hit = _paper_qwen_row(pub)
    if tag not in QWEN:
        reason = (f"the run name says Qwen 32B, but no source names its base: the RewardBench 2 paper ({RB2_PDF}) "
                  "trains RMs on Qwen 2.5 7B Instruct and Qwen 7B Base only")
        if hit:
            reason += (f"; and this run's 7 published scores equal the paper's {hit[1]}, a 7B label: the run name "
                       "and the paper disagree")
        return None, reason
    if hit and hit[0] != tag:
        return None, f"run-name tag '{tag}', but its published scores equal the paper's {hit[1]}: they disagree"
    base, said = QWEN[tag]
    src = f"{RB2_PDF} (RewardBench 2 paper): {said}; run-name base tag '{tag}'"
    if hit:
        return base, f"{src}; {hit[1]} equals this run's 7 published scores", "paper table"
    return base, src, "paper + name"


def _sweep(rm: str, pub):
    """(base, source, verification, data, lr, epochs, seed, run) for an open-instruct sweep run, or (None, reason);
    ``pub``: the run's leaderboard row."""
    name = rm.split("/", 1)[1].removeprefix("open_instruct_dev-rm_")
    m = re.match(r"(.+?)__(\d+)__(\d+)$", name)
    body, seed, run = m.group(1), int(m.group(2)), m.group(3)
    tag = None
    for t in ("llamabase", "llama70b", "tulu3_70b", "llama", "qwenbase", "qwen32b", "qwen"):
        if body.startswith(t + "_") or body == t:
            tag = t
            break
    lr = epochs = None
    data = "tulu"
    rest = body[len(tag) + 1:] if tag else body
    bits = rest.split("_") if rest else []
    if bits and re.fullmatch(r"\d+e-\d+", bits[0]):
        lr = float(bits.pop(0))
        if bits and bits[0].isdigit():
            epochs = int(bits.pop(0))
    if bits and bits[0] in ("dpo", "rl"):
        tag = bits.pop(0)
    if tag == "tulu3_70b":  # rm_tulu3_70b_<n>: the name states neither data nor lr
        data, bits = f"unstated (variant {'_'.join(bits)})", []
    if bits:
        data = "_".join(bits)
    if tag in ("qwen", "qwenbase", "qwen32b"):
        got = _qwen(tag, pub)
        return got if got[0] is None else ((*got, data, lr, epochs, seed, run), None)
    if tag is None:
        if lr is None or epochs is None:
            return None, "no base tag and no learning rate/epochs in the name: base not verifiable"
        match = [r for r in SFT_REVISIONS if r[0] == data and abs(r[1] - lr) < 1e-12 and r[2] == epochs
                 and abs(r[3] - 100 * pub["Score"]) < 0.051]
        if not match:
            return None, ("no base tag (open-instruct default, read as Tulu-3-8B-SFT) and no matching revision "
                          "on the Llama-3.1-Tulu-3-8B-SFT-RM-RB2 card")
        card = "Llama-3.1-Tulu-3-8B-SFT-RM-RB2"
        src = (f"{RB2_CARD.format(card)}: revision table row ({data}, lr {lr:g}, {epochs} epoch(s), "
               f"RB2 {match[0][3]}) matches this run")
        return (RB2_RELEASED[card], src, "card revision", data, lr, epochs, seed, run), None
    card = SWEEP_TAGS[tag]
    src = f"run-name base tag '{tag}' = the base of {RB2_CARD.format(card)}"
    return (RB2_RELEASED[card], src, "name + card", data, lr, epochs, seed, run), None


def build(draft_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    draft = pd.read_csv(draft_path)
    lb = pd.read_csv(LEADERBOARD)
    lb = lb.set_index(["model", "source_name"])
    rows, dropped = [], []
    for r in draft.itertuples():
        g, rm, ver = r.group, r.rm, r.rb_version
        rec = {"rm_id": rm, "rewardbench_version": VERSIONS[ver], "seed": None, "run": None}
        pub = lb.loc[(rm, ver)]
        if g.startswith("ContextualAI Archangel"):
            m = re.match(r"ContextualAI/archangel_sft-(dpo|kto)_(.+)$", rm)
            loss, fam = m.group(1), m.group(2)
            rec.update(group="Archangel (ContextualAI HALOs)", recipe_data="SHP + Anthropic HH + OASST1",
                       recipe_method=f"SFT+{loss.upper()} (implicit reward)", hyperparameters="HALOs defaults",
                       base_hf_id=ARCHANGEL_BASES[fam], verification="config",
                       verified_source=HALOS.format(fam, fam, loss))
        elif g.startswith("allenai RB2 released"):
            name = rm.split("/", 1)[1]
            rec.update(group="AI2 RewardBench 2 released RMs", recipe_data="Skywork-80K-v0.2 and/or Tulu 3 "
                       "preference mix", recipe_method="Bradley-Terry (open-instruct)",
                       hyperparameters="best run per base", base_hf_id=RB2_RELEASED[name],
                       verification="card" if name in RB2_CARD_SEEN else "card set + name",
                       verified_source=RB2_CARD.format(name))
        elif g.startswith("allenai RB2 sweep"):
            got, reason = _sweep(rm, pub)
            if got is None:
                dropped.append({"group": g, "rm_id": rm, "rewardbench_version": rec["rewardbench_version"],
                                "draft_base": r.base_model_inferred, "reason": reason})
                continue
            base, src, verification, data, lr, epochs, seed, run = got
            hp = "; ".join(x for x in (f"lr={lr:g}" if lr else "", f"epochs={epochs}" if epochs else "") if x)
            rec.update(group="AI2 RewardBench 2 sweep (open-instruct)", recipe_data=data,
                       recipe_method="Bradley-Terry (open-instruct)", hyperparameters=hp or "unstated",
                       base_hf_id=base, verification=verification,
                       verified_source=src, seed=seed, run=run)
        elif g.startswith("RLHFlow"):
            if rm not in RLHFLOW:
                dropped.append({"group": g, "rm_id": rm, "rewardbench_version": rec["rewardbench_version"],
                                "draft_base": r.base_model_inferred,
                                "reason": "no card text found stating the base of the 4096-context variant"})
                continue
            base, src = RLHFLOW[rm]
            rec.update(group="RLHFlow Bradley-Terry RMs (weqweasdas)", recipe_data="preference mix (HH-RLHF, "
                       "SHP, ...; per card)", recipe_method="Bradley-Terry classifier",
                       hyperparameters="RLHF-Reward-Modeling defaults", base_hf_id=base, verification="card",
                       verified_source=src)
        elif g.startswith("InternLM2"):
            rec.update(group="InternLM2-Reward", recipe_data="2.4M preference pairs (InternLM2 report)",
                       recipe_method="reward model (InternLM2 report)", hyperparameters="unstated",
                       base_hf_id=INTERNLM[rm], verification="card",
                       verified_source=f"https://huggingface.co/{rm} (card: 'trained on the foundation of "
                       f"InternLM2-Chat-*-SFT')")
        else:
            reason = {"allenai RB2 early runs": "base unknown (draft: 'likely Tulu-3-8B-SFT'); the run names carry no "
                      "base, lr or data",
                      "Ray2333 GRM -rewardmodel-ft (Skywork-80K)": "each -rewardmodel-ft is fine-tuned from an earlier "
                      "GRM '-sftreg' reward model, not from a base LLM (cards: GRM-Llama3-8B-rewardmodel-ft commit "
                      "2d6becc, GRM-Llama3.2-3B-rewardmodel-ft), and members used Skywork v0.1 or v0.2",
                      "AI2 Tulu-2.5 RMs (data x size)": "mixes DPO policies and classifier RMs on different "
                      "preference data over Tulu 2 / Llama 3 Tulu 2 SFT bases: not one recipe on several bases"}
            dropped.append({"group": g, "rm_id": rm, "rewardbench_version": rec["rewardbench_version"],
                            "draft_base": r.base_model_inferred, "reason": reason[g]})
            continue
        rec["score"] = pub["Score"]
        for col, name in SECTIONS.items():
            rec[name] = pub[col]
        rows.append(rec)
    cols = ["group", "recipe_data", "recipe_method", "hyperparameters", "rm_id", "base_hf_id", "verification",
            "verified_source", "rewardbench_version", "score", *SECTIONS.values(), "seed", "run"]
    out = pd.DataFrame(rows)[cols].astype({"seed": "Int64"})
    return out.sort_values(["group", "rewardbench_version", "base_hf_id", "rm_id"]), pd.DataFrame(dropped)


if __name__ == "__main__":
    table, dropped = build(sys.argv[1] if len(sys.argv) > 1 else HERE / "external_rm_groups_draft.csv")
    table.to_csv(HERE / "external_rm_groups.csv", index=False)
    dropped.to_csv(HERE / "dropped.csv", index=False)
    print(f"kept {len(table)} rows in {table.group.nunique()} groups; dropped {len(dropped)}")
