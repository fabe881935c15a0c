/**
 * The `train-dse` stage kind: reads a Feature-set artifact, selects the compute backend, trains
 * with {@link trainDse} and writes the Embedding artifact (test embeddings, centers, history).
 * @module
 */
import type { StageKind } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import { EMBEDDING_OUTPUTS, type EmbeddingInfo, writeEmbedding } from "../formats/embedding.ts";
import { writeNpy } from "../tensor_io/npy.ts";
import { resolveBackendName } from "../nn/backend_env.ts";
import { lossInfo as lossSpec } from "./loss_catalog.ts";
import { loadedMatmul, matmulProvider } from "../linalg/sgemm.ts";
import type { ImageBackboneFactory } from "./model.ts";
import { applyRecipe, DSE_PARAMS, type DseParams, resolveLambda } from "./train_params.ts";
import { readRecipes } from "../formats/recipes.ts";

/**
 * Build the `train-dse` kind. `backbones` plugs end-to-end image modules in (e.g.
 * `{ resnet50: resnet50Backbone }`); the default kind has none and supports `features` only.
 */
export function createTrainDseKind(
  options: {
    backbones?: Record<string, ImageBackboneFactory>;
    /**
     * `import.meta.url` of the module that builds the kind with its backbones (default this one),
     * so that the backbones' code is part of the cache key and a worker finds the kind there.
     */
    module?: string;
  } = {},
): StageKind<DseParams> {
  return defineKind({
    name: "train-dse",
    description:
      "Train DSE-S/CS/DS (Kang et al. 2017) or a pair loss (VSE0, VSE++, InfoNCE, Malali & Keller, Xu et al.) on a feature set; writes test embeddings",
    module: options.module ?? import.meta.url,
    inputs: {
      data: "a Feature set (features mode) or image tensors (end-to-end mode)",
      backbone: "end-to-end: the backbone weights (a download stage's `files` output)",
      recipe: "optional: a select-recipe stage's recipes.json; the `recipe` param names the method",
    },
    params: DSE_PARAMS,
    outputs: [...EMBEDDING_OUTPUTS, "centers.npy", "history.json"],
    environment: async (_params, opts): Promise<Record<string, string>> => {
      const backend = await resolveBackendName(opts.backend);
      // On wasm the products run on the system BLAS when one loads: other rounding, other key.
      return backend === "wasm" ? { backend, matmul: matmulProvider() } : { backend };
    },
    run: async (ctx) => {
      const recipes = ctx.inputs.recipe ? await readRecipes(ctx.inputs.recipe) : undefined;
      const p = applyRecipe(ctx.params, recipes);
      if (recipes) {
        const r = recipes.recipes[p.recipe];
        ctx.provenance.recipe = { method: p.recipe, chosen: r.chosen, values: r.values };
        ctx.log(`train-dse: recipe of ${p.recipe} (${r.chosen}): ${JSON.stringify(r.values)}`);
      }
      if (!ctx.inputs.data) {
        throw new Error(
          "train-dse: needs an input `data` (a Feature-set artifact, e.g. wiki-data)",
        );
      }
      // tfjs loads with the stage, not with the CLI (README, "Start-up")
      const [{ selectBackend }, { trainDse }, { loadFeatureSet, normalizeInPlace }] = await Promise
        .all([import("../nn/backend.ts"), import("./train.ts"), import("./train_data.ts")]);
      const info = await selectBackend(ctx.env.backend ?? ctx.options.backend, {
        log: ctx.log,
        threads: ctx.options.threads ? Number(ctx.options.threads) : undefined,
      });
      ctx.provenance.backend = info.name;
      if (info.name === "wasm") {
        // The key names the product predicted without loading a library; this is what loaded.
        const matmul = loadedMatmul();
        if (ctx.env.matmul !== undefined && matmul !== ctx.env.matmul) {
          throw new Error(
            `train-dse: the cache key was computed for products on ${ctx.env.matmul} but ${matmul} ` +
              `is what loads here (README "Compute backends"); fix the library (DSE_LINALG_LIB) ` +
              `or set DSE_NN_BLAS=0 to train on XNNPACK`,
          );
        }
        ctx.provenance.matmul = matmul;
      }
      ctx.provenance.tfjs = info.tfjsVersion;
      ctx.provenance.backend_details = info.details;
      ctx.provenance.seed = p.seed;
      const data = await loadFeatureSet(ctx.inputs.data);
      if (p.image_branch === "features") {
        normalizeInPlace(data.imgTrain, [data.imgTest], p.normalize);
      }
      normalizeInPlace(data.txtTrain, [data.txtTest], p.normalize);
      const lambda = resolveLambda(p);
      const res = await trainDse(data, p, {
        scratch: ctx.scratch,
        signal: ctx.signal,
        log: ctx.log,
        progress: ctx.progress,
        backbones: options.backbones,
        backboneWeights: ctx.inputs.backbone,
        backend: info.name,
      });
      ctx.provenance.epochs_run = res.history.length;
      ctx.provenance.stop_reason = res.stopReason;
      ctx.provenance.resumed_from_epoch = res.resumedFrom;
      if (res.backbone) ctx.provenance.backbone = res.backbone;
      const m = data.yTest.length;
      await writeNpy(ctx.out("centers.npy"), res.centers, [data.numClasses, p.dim]);
      // The object must be a function of its key: wall-clock seconds go to the manifest
      // (provenance), not into history.json.
      ctx.provenance.epoch_seconds = res.history.map((h) => Number(h.seconds.toFixed(3)));
      const history = res.history.map(({ seconds: _s, ...rec }) => rec);
      await Deno.writeTextFile(ctx.out("history.json"), JSON.stringify(history, null, 1));
      const embedding: EmbeddingInfo = {
        dataset: String(data.meta.dataset ?? "unknown"),
        method: lossSpec(p.loss).method,
        pca: false,
        score: "cosine",
        hyper: {
          loss: p.loss,
          lambda,
          alpha: p.alpha,
          dim: p.dim,
          epochs_max: p.epochs,
          epochs_run: res.history.length,
          stop_reason: res.stopReason,
          batch: p.batch,
          lr: p.lr,
          weight_decay: p.weight_decay,
          seed: p.seed,
          image_branch: p.image_branch,
          pairing: lossSpec(p.loss).batching === "paired" ? "pair" : p.pairing,
          batching: lossSpec(p.loss).batching,
          margin: p.margin,
          temperature: p.temperature,
          normalize: p.normalize,
          backend: info.name,
          ...(recipes ? { recipe: recipes.recipes[p.recipe].chosen } : {}),
        },
        notes: [
          "loss terms are batch means; each modality's loss has weight 0.5",
          lossSpec(p.loss).note,
          `loss source: ${lossSpec(p.loss).source}`,
          "weight decay is coupled L2 on FC kernels and W (Keras kernel_regularizer)",
        ],
      };
      await writeEmbedding(ctx.out, {
        img: { data: res.imgEmb, shape: [m, p.dim] },
        txt: { data: res.txtEmb, shape: [m, p.dim] },
        y: data.yTest,
        info: embedding,
      });
    },
  });
}

/** The `train-dse` kind with no end-to-end backbone registered. */
export const trainDseKind: StageKind = createTrainDseKind();
