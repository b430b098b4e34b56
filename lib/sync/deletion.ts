// Deleting a record: the plan of what to remove is written into the record (status `deleting`)
// before anything is removed, then the destination is cleaned and the record goes. A failure at
// any step leaves the record `deleting` with its plan; running this again finishes the job.
import { imageContents } from '../cleanup/contents.ts';
import { removeImage } from '../cleanup/remove-image.ts';
import type { Logger } from '../log.ts';
import { parseReference } from '../reference/reference.ts';
import type { RegistryClients } from '../registry/client.ts';
import type { Cleanup, RecordStore, StoredRecord } from '../store/types.ts';
import { recordDigest } from './inspect.ts';

export class RecordChangedError extends Error {
  override readonly name = 'RecordChangedError';
}

export class Deletion {
  constructor(
    private readonly store: RecordStore,
    private readonly clients: RegistryClients,
    private readonly log: Logger,
  ) {}

  /** For a record already leased and marked `deleting`: what stayed at the destination. */
  async finish(leased: StoredRecord): Promise<string[]> {
    let record = leased;
    const destination = parseReference(record.destination);
    const client = this.clients.get(destination.registry);
    const digest = recordDigest(record);
    if (!record.cleanup && digest) {
      const contents = await imageContents(client, destination.repository, digest);
      record = await this.write(record, { repository: destination.repository, digest, untag: destination.tag, ...contents });
    }
    let left: string[] = [];
    if (record.cleanup) {
      left = await removeImage(client, record.cleanup, {
        saveThrowaway: async (throwaway) => {
          record = await this.write(record, { ...record.cleanup!, throwaway });
        },
      });
    }
    await this.store.delete(record.id);
    this.log('info', 'record deleted', { id: record.id, destination: record.destination, left });
    return left;
  }

  private async write(record: StoredRecord, cleanup: Cleanup): Promise<StoredRecord> {
    const written = await this.store.update(record.id, record.version, { cleanup });
    if (!written) throw new RecordChangedError(`record ${record.id} changed while it was being deleted; try again`);
    return written;
  }
}
