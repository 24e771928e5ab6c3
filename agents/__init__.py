"""How agents decide: prompts, backends (scripted, chaos, replay, vllm, openai, modal) and councils."""
