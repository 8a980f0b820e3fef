"""Phi-3's chat special tokens and template (no heavy imports: the server uses them too)."""

from __future__ import annotations

SYSTEM, USER, ASSISTANT, END, ENDOFTEXT = "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>"
SPECIAL_TOKENS = [ENDOFTEXT, SYSTEM, USER, ASSISTANT, END]

# Phi-3's template: each message "<|role|>\n{content}<|end|>\n", then "<|assistant|>\n" to prompt a reply.
PHI3_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)
