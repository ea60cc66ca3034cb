// "A stage's dates changed somewhere": the scheduler re-arms its timer when
// told. Workers that are not the leader forward the news to it.
export interface StageEvents {
  changed(): void;
}

export const ignoreStageEvents: StageEvents = { changed() {} };
