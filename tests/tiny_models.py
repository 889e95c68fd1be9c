"""A tiny random-weight transformer checkpoint, built from a config (as transformers' own tests
do), so training and inference code paths run in the test suite in seconds."""

from __future__ import annotations

from pathlib import Path

TINY_TEXTS = [
    "您好很高兴为您服务", "我要投诉你们快递三天还没到", "我要打12315曝光你们", "请赔偿三倍",
    "谢谢问题解决了", "傻逼客服", "hello how can I help you", "I want a refund now",
]


def make_tiny_base(directory: Path) -> Path:
    """A 2-layer Gemma-3 text model with a character-level tokenizer, saved to ``directory``."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, PreTrainedTokenizerFast

    chars = sorted({c for text in TINY_TEXTS for c in text})
    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    for c in chars:
        vocab.setdefault(c, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<bos>",
                                        eos_token="<eos>", pad_token="<pad>", unk_token="<unk>")
    config = Gemma3TextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                              num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                              head_dim=16, max_position_embeddings=128, sliding_window=16,
                              pad_token_id=0, bos_token_id=2, eos_token_id=1)
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
