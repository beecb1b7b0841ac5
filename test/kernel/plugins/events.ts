/** Lifecycle calls recorded by the kernel-test plugins, in order. */
export const events: string[] = [];
