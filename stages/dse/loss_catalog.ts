/**
 * What `train-dse` knows of each loss without its code: name, method label, batching, what a
 * score row predicts, source and note ({@link LOSS_INFO}), and the losses' default constants.
 * The kind's params and `validate` read this module, so that loading the kind (the CLI's
 * `status`, `dag`, a no-op `reproduce`) does not load tfjs; stages/dse/loss_registry.ts adds each
 * loss's code to it.
 * @module
 */
import type { LossKind } from "./model.ts";

/** CLIP's initial temperature τ₀ (stages/dse/loss_infonce.ts). */
export const CLIP_TEMPERATURE = 0.07;

/** The margin α of vsepp's default recipe (stages/dse/loss_vse.ts). */
export const VSE_MARGIN = 0.2;

/** A loss's description. */
export interface LossInfo {
  /** Name used in pipeline.yaml (`loss:`). */
  name: LossKind;
  /** Method label written to embedding.json. */
  method: string;
  /** Batches it needs. */
  batching: "class-balanced" | "paired";
  /** What the argmax of a score row predicts. */
  predicts: "class" | "partner";
  /** The formula's source and whether it is verified or our reading (README, docs/losses.md). */
  source: string;
  /** A one-line note for embedding.json. */
  note: string;
}

/** The losses, in registration order. */
export const LOSS_INFO: Readonly<Record<LossKind, LossInfo>> = {
  s: {
    name: "s",
    method: "dse-s",
    batching: "class-balanced",
    predicts: "class",
    source: "Kang et al. 2017, eq. 1 (verified: the paper)",
    note: "S: softmax(Wx+b); centers.npy holds class means of the training embeddings",
  },
  cs: {
    name: "cs",
    method: "dse-cs",
    batching: "class-balanced",
    predicts: "class",
    source: "Kang et al. 2017, eqs. 2–4 (verified: the paper)",
    note:
      "center loss ½‖x−c_y‖²; centers updated by Δc_j=Σ(c_j−x_i)/n_j, α, from both modalities' rows",
  },
  ds: {
    name: "ds",
    method: "dse-ds",
    batching: "class-balanced",
    predicts: "class",
    source: "Kang et al. 2017, eqs. 5–6 (verified: the paper)",
    note: "DS: −log softmax(−‖x−c‖²)_y + λ‖x−c_y‖²; centers learned by gradient",
  },
  vse0: {
    name: "vse0",
    method: "vse0",
    batching: "paired",
    predicts: "partner",
    source: "Faghri et al. 2018, sum of hinges (verified: fartashf/vsepp model.py)",
    note: "VSE0: Σ_ij [α−S_ii+S_ij]₊ + [α−S_jj+S_ij]₊ over in-batch negatives, cosine, summed",
  },
  vsepp: {
    name: "vsepp",
    method: "vsepp",
    batching: "paired",
    predicts: "partner",
    source: "Faghri et al. 2018, max of hinges (verified: fartashf/vsepp model.py)",
    note: "VSE++: Σ_i max_j [α−S_ii+S_ij]₊ + Σ_j max_i [α−S_jj+S_ij]₊, cosine, summed",
  },
  infonce: {
    name: "infonce",
    method: "infonce",
    batching: "paired",
    predicts: "partner",
    source: "Radford et al. 2021 (CLIP), symmetric InfoNCE (verified: the paper's pseudo-code)",
    note: "InfoNCE: ½[CE(e^t S, diag) + CE(e^t Sᵀ, diag)], t learnable from log(1/0.07), e^t ≤ 100",
  },
  malali: {
    name: "malali",
    method: "malali",
    batching: "paired",
    predicts: "partner",
    source: "Malali & Keller 2021 (our reading of the abstract; docs/losses.md)",
    note: "Malali & Keller (our reading): adaptive-margin distance hinge + λ center loss + " +
      "0.1 soft-quantization loss on L2-normalised embeddings; margin refined every step",
  },
  xu: {
    name: "xu",
    method: "xu",
    batching: "paired",
    predicts: "partner",
    source: "Xu et al. 2019 (our reading of the abstract; docs/losses.md)",
    note: "Xu et al. (our reading): siamese text scorer (training texts only) gives fine-grained " +
      "labels; weighted global loss σ²₊ + σ²₋ + λ[m − (μ₊ − μ₋)]₊ on cosine scores",
  },
};

/** The names of the registered losses. */
export const LOSS_NAMES: readonly LossKind[] = Object.keys(LOSS_INFO) as LossKind[];

/** The description of loss `name`; throws listing the known names. */
export function lossInfo(name: string): LossInfo {
  const info = (LOSS_INFO as Record<string, LossInfo>)[name];
  if (!info) {
    throw new Error(`train-dse: unknown loss "${name}"; use one of ${LOSS_NAMES.join(", ")}`);
  }
  return info;
}
