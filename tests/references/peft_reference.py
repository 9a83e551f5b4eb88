#!/usr/bin/python3
"""PyTorch reference for clipft's adapters (tests/test_adapters.cpp), on ../shared/fixtures/tiny-a.

OpenAI's CLIP forward, written out in PyTorch, with
  LoRA (alpha 3, rank 2) on q and v of every block of both towers, A and B fixed (seeded here):
      the embeddings of tiny-a's inputs, and the gradients of A and B of the objective
      sum(w_image * image_embeds) + sum(w_text * text_embeds), w fixed (seeded here);
  an SVD residual (rank 2) on q and v: the decomposition of each weight in double precision, the
      gradients of U_R, S_R, V_R of the same objective, one torch.optim.AdamW step (lr 1e-2, betas
      0.9/0.98, eps 1e-6, no weight decay) and the embeddings after it.
Run:  /usr/bin/python3 tests/references/peft_reference.py ../shared/fixtures/tiny-a tests/references/peft_reference.safetensors
(Debian's python3-torch 1.13; the output is committed next to this script.)"""
import json
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def load(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


def save(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors.items():
        array = tensor.detach().to(torch.float32).contiguous().numpy()
        blob = array.tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


fixture, output = sys.argv[1], sys.argv[2]
W = load(fixture + "/openai.safetensors")
inputs = load(fixture + "/inputs.safetensors")
config = json.load(open(fixture + "/openai_config.json"))
pixels, ids = inputs["pixel_values"].float(), inputs["input_ids"].long()
RANK, ALPHA = 2, 3.0
torch.manual_seed(17)


def sites():
    for tower, prefix, hf in (("vision", "visual.transformer.resblocks.", "vision_model.encoder.layers."),
                              ("text", "transformer.resblocks.", "text_model.encoder.layers.")):
        layers = config["vision_layers"] if tower == "vision" else config["transformer_layers"]
        for block in range(layers):
            for projection, name in ((0, "q"), (2, "v")):
                yield (prefix + str(block) + ".", projection, hf + str(block) + ".self_attn." + name + "_proj.weight")


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def layer_norm(x, prefix):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], W[prefix + "weight"], W[prefix + "bias"], 1e-5)


def block(x, prefix, heads, mask, change):
    h = layer_norm(x, prefix + "ln_1.")
    qkv = h @ W[prefix + "attn.in_proj_weight"].T + W[prefix + "attn.in_proj_bias"]
    width = x.shape[-1]
    projections = list(qkv.split(width, dim=-1))
    for p in range(3):
        projections[p] = projections[p] + change(prefix, p, h)
    b, length = x.shape[0], x.shape[1]
    q, k, v = (t.reshape(b, length, heads, width // heads).transpose(1, 2) for t in projections)
    scores = q @ k.transpose(-1, -2) / (width // heads) ** 0.5
    if mask is not None:
        scores = scores + mask
    attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, length, width)
    x = x + attended @ W[prefix + "attn.out_proj.weight"].T + W[prefix + "attn.out_proj.bias"]
    h = layer_norm(x, prefix + "ln_2.")
    h = quick_gelu(h @ W[prefix + "mlp.c_fc.weight"].T + W[prefix + "mlp.c_fc.bias"])
    return x + h @ W[prefix + "mlp.c_proj.weight"].T + W[prefix + "mlp.c_proj.bias"]


def embeddings(change):
    n, patch = pixels.shape[0], config["vision_patch_size"]
    x = torch.nn.functional.conv2d(pixels, W["visual.conv1.weight"], stride=patch).flatten(2).transpose(1, 2)
    cls = W["visual.class_embedding"].reshape(1, 1, -1).expand(n, 1, -1)
    x = layer_norm(torch.cat([cls, x], 1) + W["visual.positional_embedding"], "visual.ln_pre.")
    for i in range(config["vision_layers"]):
        x = block(x, "visual.transformer.resblocks." + str(i) + ".", config["vision_heads"], None, change)
    image = layer_norm(x[:, 0], "visual.ln_post.") @ W["visual.proj"]
    length = ids.shape[1]
    mask = torch.full((length, length), float("-inf")).triu(1)
    t = W["token_embedding.weight"][ids] + W["positional_embedding"]
    for i in range(config["transformer_layers"]):
        t = block(t, "transformer.resblocks." + str(i) + ".", config["transformer_heads"], mask, change)
    t = layer_norm(t, "ln_final.")
    text = t[torch.arange(t.shape[0]), ids.argmax(-1)] @ W["text_projection"]
    return image, text


results = {}
w_image, w_text = torch.randn(pixels.shape[0], config["embed_dim"]), torch.randn(ids.shape[0], config["embed_dim"])
results["objective_image"], results["objective_text"] = w_image, w_text


def objective(image, text):
    return (w_image * image).sum() + (w_text * text).sum()


# LoRA with fixed A and B.
lora = {}
for prefix, projection, hf in sites():
    a = (0.1 * torch.randn(RANK, 64)).requires_grad_()
    b = (0.1 * torch.randn(64, RANK)).requires_grad_()
    lora[(prefix, projection)] = (a, b)
    results["lora." + hf + ".lora_A"], results["lora." + hf + ".lora_B"] = a, b


def lora_change(prefix, projection, h):
    if (prefix, projection) not in lora:
        return 0
    a, b = lora[(prefix, projection)]
    return (ALPHA / RANK) * (h @ a.T) @ b.T


image, text = embeddings(lora_change)
objective(image, text).backward()
results["lora_image_embeds"], results["lora_text_embeds"] = image, text
for prefix, projection, hf in sites():
    a, b = lora[(prefix, projection)]
    results["lora_grad." + hf + ".lora_A"], results["lora_grad." + hf + ".lora_B"] = a.grad, b.grad

# One SVD-residual step.
svd, frozen = {}, {}
for prefix, projection, hf in sites():
    rows = W[prefix + "attn.in_proj_weight"][projection * 64:(projection + 1) * 64].double()
    u, s, vt = torch.linalg.svd(rows, full_matrices=False)
    factors = (u[:, -RANK:].float(), s[-RANK:].float(), vt[-RANK:].float())
    frozen[(prefix, projection)] = factors
    svd[(prefix, projection)] = tuple(f.clone().requires_grad_() for f in factors)
    for name, f in zip(("svd_U", "svd_S", "svd_V"), factors):
        results["svd_initial." + hf + "." + name] = f


def svd_change(prefix, projection, h):
    if (prefix, projection) not in svd:
        return 0
    (u, s, v), (u0, s0, v0) = svd[(prefix, projection)], frozen[(prefix, projection)]
    return ((h @ v.T) * s) @ u.T - ((h @ v0.T) * s0) @ u0.T


parameters = [p for factors in svd.values() for p in factors]
optimizer = torch.optim.AdamW(parameters, lr=1e-2, betas=(0.9, 0.98), eps=1e-6, weight_decay=0)
image, text = embeddings(svd_change)
objective(image, text).backward()
for prefix, projection, hf in sites():
    for name, p in zip(("svd_U", "svd_S", "svd_V"), svd[(prefix, projection)]):
        results["svd_grad." + hf + "." + name] = p.grad.clone()
optimizer.step()
for prefix, projection, hf in sites():
    for name, p in zip(("svd_U", "svd_S", "svd_V"), svd[(prefix, projection)]):
        results["svd_after." + hf + "." + name] = p
with torch.no_grad():
    image, text = embeddings(svd_change)
results["svd_image_embeds_after"], results["svd_text_embeds_after"] = image, text
save(output, results, {"rank": str(RANK), "lora_alpha": str(ALPHA), "torch": torch.__version__})
