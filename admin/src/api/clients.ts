import type { ClientPage } from "./client";
import { useApi } from "./useApi";

/** Clients for a picker or a name lookup: the first 200 by name (the API's largest page). */
export function useClientChoices() {
  return useApi<ClientPage>("/v1/admin/clients", { limit: 200 });
}
