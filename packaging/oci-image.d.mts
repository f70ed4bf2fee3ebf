// Types of oci-image.mjs, the reproducible OCI image archive writer.

/** One regular file of an image layer. */
export interface ImageFile {
  /** Path inside the image, without a leading "/". */
  path: string;
  data: Buffer;
  mode: number;
}

/** A tar archive of `files` plus every parent directory, sorted, with fixed owners and mtimes. */
export function tarOf(files: ImageFile[]): Buffer;

/** `sha256:<hex>` of a buffer. */
export function digestOf(data: Buffer): string;

/** Image files from host paths ({ "/in/image": "/host/path" }). */
export function filesFromHost(map: Record<string, string>): ImageFile[];

/** Writes an OCI image-layout archive with one layer and returns the manifest digest. */
export function writeOciImage(options: {
  files: ImageFile[];
  entrypoint: string[];
  name: string;
  labels?: Record<string, string>;
  out: string;
}): string;
