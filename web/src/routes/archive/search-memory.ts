import type { CaseStatus } from '$lib/api.js';
import type { ArchiveFlag, ArchiveSort, RecordingStatus } from '$lib/archive-api.js';

/** The archive search form as the auditor last submitted it. */
export interface SearchForm {
  text: string;
  teller: string;
  branch: string;
  product: string;
  status: CaseStatus | '';
  recordingStatus: RecordingStatus | '';
  flag: ArchiveFlag | '';
  from: string;
  to: string;
  sort: ArchiveSort;
}

let last: SearchForm | null = null;

/** The last archive search, in this page's memory only (never in the URL or browser storage). */
export const lastSearch = {
  get: (): SearchForm | null => last,
  set: (form: SearchForm): void => {
    last = { ...form };
  },
};
