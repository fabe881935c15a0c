/**
 * Test helper: a data mirror for the `paper` target of pipeline.yaml, generated, in the real
 * on-disk layouts and under the `mirror_path`s the paper downloads name: small fixtures of the
 * three raw datasets (Wikipedia zip, VOC2007 trainval/test tars + Hwang's tag `.mat` files,
 * LabelMe image zip + per-image annotation XMLs in the toolbox's layout) and tiny ImageNet weights (a Keras-layout ResNet `.h5`
 * with the file name of ResNet-50's, an ONNX AlexNet with bvlcalexnet's initializer names).
 * @module
 */
import { RESNET_TINY } from "../../stages/nn/resnet_backbone.ts";
import { VOC_CLASSES } from "../../stages/data/datasets.ts";
import { randomResNetWeights } from "../../stages/nn/resnet.ts";
import {
  dirEntries,
  onnxBytes,
  put,
  tarBytes,
  tinyAlexNetTensors,
  type VocImage,
  writeKerasH5,
  writeLabelMeFixture,
  writeVocFixture,
  writeWikiFixture,
  zipBytes,
} from "./fixtures_raw.ts";

/** The LabelMe folder of the 8 outdoor scenes (pipeline.yaml's imagesDir/annotationsDir). */
export const LABELME_FOLDER = "spatial_envelope_256x256_static_8outdoorcategories";

/** Sizes of the generated mirror, for assertions. */
export interface PaperMirror {
  /** Wikipedia train/test pairs. */
  wiki: { train: number; test: number };
  /** VOC single-object trainval/test images (multi-class ones are also written, to be dropped). */
  pascal: { train: number; test: number };
  /** LabelMe images per class. */
  labelmePerClass: number;
  /** fc6 width of the tiny AlexNet. */
  fc6: number;
}

/**
 * Write the mirror under `dir`: `weights/`, `wikipedia-raw/`, `pascal/` (with Hwang's tags in
 * `pascal/hwang/`), `labelme/`. Every class
 * of every dataset has training and test samples; texts have enough distinct words for 10-d
 * baselines.
 */
export async function writePaperMirror(dir: string): Promise<PaperMirror> {
  const tmp = await Deno.makeTempDir({ prefix: "paper-mirror-src-" });
  try {
    // Weights: a tiny ResNet in keras 2.0 naming under ResNet-50's file name; a tiny AlexNet.
    await put(
      `${dir}/weights/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`,
      await writeKerasH5(randomResNetWeights(RESNET_TINY, 7), RESNET_TINY),
    );
    const fc6 = 24;
    await put(`${dir}/weights/bvlcalexnet-12.onnx`, onnxBytes(tinyAlexNetTensors({ fc6 })));

    // Wikipedia: the zip of the SVCL page, whose entries sit under wikipedia_dataset/.
    const wiki = { train: 30, test: 12 };
    await writeWikiFixture(`${tmp}/wiki`, wiki);
    await put(
      `${dir}/wikipedia-raw/wikipedia_dataset.zip`,
      await zipBytes(await dirEntries(`${tmp}/wiki`, "wikipedia_dataset/")),
    );

    // Pascal: two single-object trainval images and one test image per class, plus two
    // multi-class images the selection must drop; tags name the class and two pool words.
    const images: VocImage[] = [];
    VOC_CLASSES.forEach((c, i) => {
      for (let k = 0; k < 3; k++) {
        const id = String(100 + 3 * i + k).padStart(6, "0");
        images.push({ id, split: k < 2 ? "trainval" : "test", objects: [[c]] });
      }
    });
    images.push({ id: "000900", split: "trainval", objects: [["dog"], ["person"]] });
    images.push({ id: "000901", split: "test", objects: [["car"], ["bus"]] });
    const pool = ["outdoor", "indoor", "red", "blue", "old", "city", "grass", "water", "people"];
    await writeVocFixture(`${tmp}/voc`, {
      images,
      tags: (id, objects) => [
        ...objects.map(([o]) => o),
        pool[Number(id) % pool.length],
        pool[(Number(id) * 7) % pool.length],
      ],
    });
    const all = await dirEntries(`${tmp}/voc`);
    const devkit = all.filter((e) => e.name.startsWith("VOCdevkit"));
    const testIds = new Set(images.filter((im) => im.split === "test").map((im) => im.id));
    const isTest = (n: string) =>
      n.endsWith("/test.txt") || [...testIds].some((id) => n.includes(`/${id}.`));
    const isTrainval = (n: string) => !n.endsWith("/test.txt") && !isTest(n);
    await put(
      `${dir}/pascal/VOCtrainval_06-Nov-2007.tar`,
      tarBytes(devkit.filter((e) => e.name.endsWith("/") || isTrainval(e.name))),
    );
    await put(
      `${dir}/pascal/VOCtest_06-Nov-2007.tar`,
      tarBytes(devkit.filter((e) => e.name.endsWith("/") || isTest(e.name))),
    );
    for (const f of ["train.mat", "test.mat"]) {
      await put(`${dir}/pascal/hwang/${f}`, await Deno.readFile(`${tmp}/voc/hwang/${f}`));
    }

    // LabelMe: the images zip holds <folder>/<class>_<name>.jpg; the annotations lie in the
    // mirror as the toolbox lays them out, labelme/Annotations/<folder>/<stem>.xml. Each image
    // names the sky, its class's two objects and a shared one, so the tags seen more than 3
    // times span more than 10 words.
    const labelmePerClass = 5;
    const names = (
      c: number,
      k: number,
    ) => ["sky", `thing${c}`, `stuff${c}`, k % 2 ? "road" : "tree"];
    await writeLabelMeFixture(`${tmp}/labelme`, {
      perClass: labelmePerClass,
      folder: LABELME_FOLDER,
      names,
    });
    // The fixture leaves coast_img0 unannotated; the real set is fully annotated.
    await put(
      `${tmp}/labelme/Annotations/${LABELME_FOLDER}/coast_img0.xml`,
      `<annotation><filename>coast_img0.jpg</filename>${
        names(0, 0).map((n) => `<object><name>${n}</name><deleted>0</deleted></object>`).join("")
      }</annotation>`,
    );
    await put(
      `${dir}/labelme/${LABELME_FOLDER}.zip`,
      await zipBytes(await dirEntries(`${tmp}/labelme/Images`)),
    );
    for (const e of await dirEntries(`${tmp}/labelme/Annotations`)) {
      if (e.data) await put(`${dir}/labelme/Annotations/${e.name}`, e.data as Uint8Array);
    }
    return {
      wiki,
      pascal: { train: 2 * VOC_CLASSES.length, test: VOC_CLASSES.length },
      labelmePerClass,
      fc6,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
