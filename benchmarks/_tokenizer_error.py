"""How far the offline token estimate is from an exact Phi-3 count (not a speed benchmark).

    python -m benchmarks._tokenizer_error TOKENIZER_JSON [FILE.jsonl ...] [--from-llama2]

TOKENIZER_JSON is a Phi-3 tokenizer.json, or, with `--from-llama2`, a Llama-2 tokenizer.json (Phi-3-mini's
vocabulary is Llama-2's 32,000 SentencePiece pieces) to which Phi-3's chat tokens are added here, as Phi-3
declares them (ids 32000-32010, the role markers and `<|end|>` swallowing the whitespace after them). Prints
per-file mean and worst relative error per example, and the cl100k->Phi-3 ratio that would be unbiased.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from shared.validation.prepare import ChatMessage
from shared.validation.tokens import EstimatingTokenCounter, Phi3TokenizerCounter

PHI3_ADDED_TOKENS = {
    "<|endoftext|>": (32000, False),
    "<|assistant|>": (32001, True),
    "<|placeholder1|>": (32002, True),
    "<|placeholder2|>": (32003, True),
    "<|placeholder3|>": (32004, True),
    "<|placeholder4|>": (32005, True),
    "<|system|>": (32006, True),
    "<|end|>": (32007, True),
    "<|placeholder5|>": (32008, True),
    "<|placeholder6|>": (32009, True),
    "<|user|>": (32010, True),
}


def phi3_from_llama2(llama2_json: Path, out: Path) -> None:
    """Write a Phi-3 tokenizer.json: Llama-2's, plus Phi-3's chat special tokens."""
    data = json.loads(llama2_json.read_text(encoding="utf-8"))
    for content, (token_id, rstrip) in PHI3_ADDED_TOKENS.items():
        data["added_tokens"].append(
            {
                "id": token_id,
                "content": content,
                "single_word": False,
                "lstrip": False,
                "rstrip": rstrip,
                "normalized": False,
                "special": True,
            }
        )
    out.write_text(json.dumps(data), encoding="utf-8")


def main() -> None:
    """Compare the estimate with the exact count on each file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._tokenizer_error")
    parser.add_argument("tokenizer", type=Path)
    parser.add_argument("files", nargs="*", type=Path, default=[Path("examples/xbox-support.jsonl")])
    parser.add_argument("--from-llama2", action="store_true")
    args = parser.parse_intermixed_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.tokenizer
        if args.from_llama2:
            path = Path(folder) / "tokenizer.json"
            phi3_from_llama2(args.tokenizer, path)
        exact = Phi3TokenizerCounter(str(path))
        estimate = EstimatingTokenCounter()
        unscaled = EstimatingTokenCounter(scale=1.0)
        for file in args.files:
            conversations = [
                [ChatMessage.model_validate(m) for m in json.loads(line)["messages"]]
                for line in file.read_text(encoding="utf-8").splitlines()
            ]
            truth = [total for total, _ in exact.count_conversations(conversations)]
            guess = [total for total, _ in estimate.count_conversations(conversations)]
            errors = [(g - t) / t for g, t in zip(guess, truth, strict=True)]
            contents = [m.content for c in conversations for m in c]
            raw = sum(unscaled.count_text(text) for text in contents)
            phi3_contents = exact.count_conversations([[ChatMessage(role="user", content=t)] for t in contents])
            # one user message costs its content + <|user|>, <|end|>, BOS and <|endoftext|>
            phi3 = sum(total - 4 for total, _ in phi3_contents)
            print(
                json.dumps(
                    {
                        "file": str(file),
                        "examples": len(truth),
                        "exact_tokens": sum(truth),
                        "estimated_tokens": sum(guess),
                        "mean_error": round(statistics.mean(errors), 4),
                        "mean_abs_error": round(statistics.mean(abs(e) for e in errors), 4),
                        "worst_error": round(sorted(errors, key=abs)[-1], 4),
                        "unbiased_phi3_per_cl100k": round(phi3 / raw, 4),
                    }
                )
            )


if __name__ == "__main__":
    main()
